@test "x" {
 true
}
