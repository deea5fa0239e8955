import KeywayCore
import Testing

@Suite struct KeyRulesTests {
    /// The key prefixes a quoted name must not start with are written out (so `get` need not decode every built-in
    /// spec); they must be exactly those the vendors' list and the built-in specs give.
    @Test func keyPrefixesAreThoseOfTheBuiltInSpecs() {
        #expect(APIKeyRules.keyPrefixes == APIKeyRules.derivedKeyPrefixes())
    }
}
