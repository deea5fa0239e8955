import KeywayCore
import KeywayPlaintext
import KeywayTestSupport
import KeywayTesting
import Testing

@Suite struct PlaintextConformanceTests {
    @Test func conformance() throws {
        let directory = try TemporaryDirectory()
        let counter = Counter()
        try StoreConformance(
            makeStore: { PlaintextStore(path: directory.path + "/store-\(counter.next())/credentials.json") },
            makeBroken: {
                let path = directory.path + "/broken-\(counter.next()).json"
                try writeFile(path, "{ \"version\": 1, \"credentials\": [ ", mode: 0o600)
                return PlaintextStore(path: path)
            }
        ).run()
    }
}
