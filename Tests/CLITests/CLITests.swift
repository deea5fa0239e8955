import Testing

@Suite struct CLISmokeTests {
    @Test func version() throws {
        let sandbox = try Sandbox()
        let result = try sandbox.run(["--version"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout == "0.1.0\n")
    }
}
