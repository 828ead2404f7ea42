"""Database binding (any playhouse.db_url URL), per-request connections, and schema migrations.

Migrations are plain DDL modules in webapp/migrations (mNNNN_name.py, each with a ``STEPS`` list of SQL
strings, ``{pk}`` standing for the dialect's auto-increment primary key). They are frozen history: a model
change is a new migration, never an edit of an old one, so a fresh database and an upgraded one end identical
(tests/test_migrations.py checks both against the models).
"""
import importlib
import pkgutil
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


class ImmediateSqliteDatabase(SqliteDatabase):
    """Every transaction takes SQLite's write lock when it begins.

    A deferred transaction that reads and then writes fails at once with "database is locked" when another
    connection wrote in between (WAL snapshot upgrade; busy_timeout does not help). BEGIN IMMEDIATE waits
    for the lock instead, so concurrent dispatcher threads, callbacks and web requests simply queue.
    """

    def begin(self, lock_type="IMMEDIATE"):
        return super().begin(lock_type)


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


def migrate(target=None):
    """Apply pending migrations in order, each in its own transaction. Returns the versions applied."""
    applied = []
    with db.connection_context():
        done = current_version()
        for version, module in migration_modules():
            if version <= done or (target is not None and version > target):
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
