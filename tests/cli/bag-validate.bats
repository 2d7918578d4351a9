load helpers

@test "kist bag validate -h answers" {
	run "$KIST" bag validate -h
	[ "$status" -eq 0 ]
}
