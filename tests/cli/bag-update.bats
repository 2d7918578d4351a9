load helpers

@test "kist bag update -h answers" {
	run "$KIST" bag update -h
	[ "$status" -eq 0 ]
}
