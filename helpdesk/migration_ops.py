"""Operations the project's migrations share."""

from __future__ import annotations

from django.db import migrations


def drop_indexes_only(state_operations: list, indexes: list[tuple[str, str, str]]):
    """Apply `state_operations` (fields altered to `db_index=False`) to the models' state,
    and in the database only drop the indexes named in `indexes` as (index, table,
    columns). Django's own AlterField would also drop and re-create each foreign key,
    which checks every row of a big table again for nothing."""
    return migrations.SeparateDatabaseAndState(
        state_operations=state_operations,
        database_operations=[
            migrations.RunSQL(
                f'DROP INDEX IF EXISTS "{index}"',
                f'CREATE INDEX IF NOT EXISTS "{index}" ON "{table}" ({columns})',
            )
            for index, table, columns in indexes
        ],
    )
