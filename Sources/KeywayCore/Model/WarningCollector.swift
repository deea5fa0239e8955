import Synchronization

/// Collects warnings raised during one resolution, each once. Its handler may be called from any thread (a store
/// reports through it), so both sets are behind one lock.
final class WarningCollector: Sendable {
    private struct State {
        var items: [KeywayWarning] = []
        var checked = Set<String>()
    }
    private let state = Mutex(State())

    var warnings: [KeywayWarning] { state.withLock { $0.items } }

    func add(_ warning: KeywayWarning) {
        state.withLock { state in
            if !state.items.contains(warning) { state.items.append(warning) }
        }
    }

    var handler: WarningHandler { { [self] in self.add($0) } }

    /// Adds the git warning for a credentials file that was read, once per file.
    func gitCheck(_ path: String, _ engine: ResolutionEngine) {
        guard state.withLock({ $0.checked.insert(path).inserted }) else { return }
        if let warning = Git.leakWarning(
            for: path, environment: engine.environment, workingDirectory: engine.workingDirectory)
        {
            add(warning)
        }
    }
}
