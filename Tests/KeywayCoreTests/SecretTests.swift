import KeywayCore
import Testing

@Suite struct SecretTests {
    @Test func placeholder() { #expect(Secret("x").description == "<redacted>") }
}
