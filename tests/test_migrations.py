"""A fresh database and one upgraded step by step end with the same schema, and it matches the models."""
import pytest

from tests.conftest import USE_PG
from webapp.db import PK_DDL, current_version, dialect, make_database, migrate, migration_modules
from webapp.extensions import db
from webapp.models import ALL_MODELS


def schema():
    tables = {}
    for table in sorted(db.get_tables()):
        columns = sorted((c.name, c.null) for c in db.get_columns(table))
        indexes = sorted((tuple(i.columns), i.unique) for i in db.get_indexes(table))
        tables[table] = (columns, indexes)
    return tables


def test_models_match_migrated_schema(app):
    tables = set(db.get_tables())
    for model in ALL_MODELS:
        table = model._meta.table_name
        assert table in tables, f"no migration creates {table}"
        # SQLite reports INTEGER PRIMARY KEY as nullable; only compare nullability of ordinary columns.
        columns = {c.name: c.null or c.primary_key for c in db.get_columns(table)}
        fields = {f.column_name: f.null or f.primary_key for f in model._meta.sorted_fields}
        assert columns == fields, f"{table}: migrated columns differ from the model"


@pytest.mark.skipif(USE_PG, reason="uses throwaway SQLite files")
def test_upgrade_path_equals_fresh(tmp_path):
    versions = [v for v, _ in migration_modules()]
    fresh = make_database(f"sqlite:///{tmp_path / 'fresh.db'}")
    db.initialize(fresh)
    migrate()
    expected = schema()
    fresh.close()
    for stop in versions[:-1]:
        stepped = make_database(f"sqlite:///{tmp_path / f'step{stop}.db'}")
        db.initialize(stepped)
        migrate(target=stop)
        with db.connection_context():
            assert current_version() == stop
        assert migrate() == [v for v in versions if v > stop]
        assert schema() == expected
        stepped.close()


def test_migrate_is_idempotent(app):
    assert migrate() == []


def test_init_db_command(runner):
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0 and "up to date" in result.output


@pytest.mark.skipif(USE_PG, reason="uses throwaway SQLite files")
def test_a_migration_numbered_below_the_newest_applied_still_runs(tmp_path):
    versions = [v for v, _ in migration_modules()]
    skipped = versions[-2]
    database = make_database(f"sqlite:///{tmp_path / 'gap.db'}")
    db.initialize(database)
    migrate(target=skipped - 1)
    with db.connection_context(), db.atomic():
        # As if the newest migration had landed (and run) before the one numbered below it.
        for statement in migration_modules()[-1][1].STEPS:
            db.execute_sql(statement.format(pk=PK_DDL[dialect()]))
        db.execute_sql("INSERT INTO schema_version (version, applied_at) VALUES (?, CURRENT_TIMESTAMP)",
                       (versions[-1],))
    assert migrate() == [skipped]
    database.close()
