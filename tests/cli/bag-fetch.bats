load helpers
