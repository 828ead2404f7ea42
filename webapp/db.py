"""Database binding (any playhouse.db_url URL), per-request connections, and schema migrations.

Migrations are plain DDL modules in webapp/migrations (mNNNN_name.py, each with a ``STEPS`` list of SQL
strings, ``{pk}`` standing for the dialect's auto-increment primary key). They are frozen history: a model
change is a new migration, never an edit of an old one, so a fresh database and an upgraded one end identical
(tests/test_migrations.py checks both against the models).
"""
import importlib
import pkgutil
import threading
from datetime import UTC, datetime

from peewee import PostgresqlDatabase, SqliteDatabase
from playhouse.db_url import connect

from webapp.extensions import db

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "busy_timeout": 10000,
    "foreign_keys": 1,
    "synchronous": "normal",
    "cache_size": -32000,
}

PK_DDL = {
    "sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT",
    "postgresql": "BIGSERIAL PRIMARY KEY",
}


WRITE_PREFIXES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class ImmediateSqliteDatabase(SqliteDatabase):
    """SQLite with every transaction taking the write lock when it begins, and in-process writers queued.

    A deferred transaction that reads and then writes fails at once with "database is locked" when another
    connection wrote in between (WAL snapshot upgrade; busy_timeout does not help). BEGIN IMMEDIATE waits
    for the lock instead. Within one process, writers (dispatcher threads, callbacks, web requests) also
    queue on a Python lock: SQLite's own busy handler waits by sleeping in steps of up to 100 ms, which
    under many threads costs far more than the writes themselves. Other processes still meet busy_timeout.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._writer = threading.RLock()
        self._held = threading.local()

    def begin(self, lock_type="IMMEDIATE"):
        self._writer.acquire()
        try:
            result = super().begin(lock_type)
        except BaseException:
            self._writer.release()
            raise
        self._held.count = getattr(self._held, "count", 0) + 1
        return result

    def _release(self):
        # commit/rollback can also be called with no BEGIN of ours (peewee's autorollback): release only ours.
        if getattr(self._held, "count", 0):
            self._held.count -= 1
            self._writer.release()

    def commit(self):
        try:
            return super().commit()
        finally:
            self._release()

    def rollback(self):
        try:
            return super().rollback()
        finally:
            self._release()

    def execute_sql(self, sql, params=None, *args, **kwargs):
        if self.in_transaction() or not sql.lstrip()[:7].upper().startswith(WRITE_PREFIXES):
            return super().execute_sql(sql, params, *args, **kwargs)
        with self._writer:
            return super().execute_sql(sql, params, *args, **kwargs)


def make_database(url):
    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[1] if url.startswith("sqlite:///") else ":memory:"
        # Connections are opened per request and per worker thread, never shared across threads.
        return ImmediateSqliteDatabase(path, pragmas=SQLITE_PRAGMAS, check_same_thread=False, timeout=10)
    if url.startswith("postgres"):
        # Pooled, and opened lazily so that nothing is connected before gunicorn forks.
        pooled = url.replace("postgresql://", "postgresql+pool://", 1).replace("postgres://", "postgresql+pool://", 1)
        return connect(pooled, max_connections=32, stale_timeout=300, timeout=10, autoconnect=True)
    return connect(url)


def dialect(database=None):
    database = database or db.obj
    if isinstance(database, PostgresqlDatabase):
        return "postgresql"
    if isinstance(database, SqliteDatabase):
        return "sqlite"
    raise RuntimeError(f"unsupported database {type(database).__name__}")


def init_app(app):
    db.initialize(make_database(app.config["DATABASE_URL"]))

    @app.before_request
    def _connect():
        db.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(_exc):
        if not db.is_closed():
            db.close()


# --- migrations -------------------------------------------------------------------------------------------

def migration_modules():
    import webapp.migrations as pkg

    names = sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if m.name.startswith("m"))
    return [(int(name[1:5]), importlib.import_module(f"webapp.migrations.{name}")) for name in names]


def _ensure_version_table():
    db.execute_sql(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP NOT NULL)"
    )


def current_version():
    _ensure_version_table()
    row = db.execute_sql("SELECT MAX(version) FROM schema_version").fetchone()
    return row[0] or 0


def applied_versions():
    _ensure_version_table()
    return {row[0] for row in db.execute_sql("SELECT version FROM schema_version").fetchall()}


def migrate(target=None):
    """Apply pending migrations in order, each in its own transaction. Returns the versions applied.

    A migration counts as pending when its own version is missing, not when it is below the highest applied:
    branches developed side by side land numbers out of order, and a database that already has a later one
    must still get the earlier ones.
    """
    applied = []
    with db.connection_context():
        done = applied_versions()
        for version, module in migration_modules():
            if version in done or (target is not None and version > target):
                continue
            with db.atomic():
                for statement in module.STEPS:
                    db.execute_sql(statement.format(pk=PK_DDL[dialect()]))
                db.execute_sql(
                    "INSERT INTO schema_version (version, applied_at) VALUES (%s, %s)"
                    .replace("%s", db.param),
                    (version, datetime.now(UTC).replace(tzinfo=None)),
                )
            applied.append(version)
    return applied
