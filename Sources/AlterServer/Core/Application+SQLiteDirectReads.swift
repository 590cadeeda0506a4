import Vapor

extension Application {
    private enum SQLiteDirectReadsKey: StorageKey { typealias Value = SQLiteDirectReads }

    /// The hot path's direct reads (`SQLiteDirectReads`); nil unless the database is an
    /// SQLite file.
    var sqliteDirectReads: SQLiteDirectReads? {
        get { storage[SQLiteDirectReadsKey.self] }
        set { storage[SQLiteDirectReadsKey.self] = newValue }
    }

    /// Closes the direct reads' connections when the app shuts down.
    struct SQLiteDirectReadsLifecycle: LifecycleHandler {
        func shutdownAsync(_ application: Application) async {
            application.sqliteDirectReads?.shutdown()
        }
    }
}
