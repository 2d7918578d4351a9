load helpers

@test "kist bag info -h answers" {
	run "$KIST" bag info -h
	[ "$status" -eq 0 ]
}
