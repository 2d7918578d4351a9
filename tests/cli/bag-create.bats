load helpers

@test "kist bag create -h answers" {
	run "$KIST" bag create -h
	[ "$status" -eq 0 ]
}
