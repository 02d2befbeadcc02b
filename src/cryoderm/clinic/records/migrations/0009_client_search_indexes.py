"""Indexes that answer the client search's prefix clauses (services/clients.py: a word
matches the start of a given name, family name or e-mail address in any case).

Without them every search read the whole client table (10,000 clients: 25 ms of database
time per search on PostgreSQL). Each database needs its own form, so they are created here
rather than declared on the model: PostgreSQL compares ``UPPER(column) LIKE 'RO%'``, which
an index on ``UPPER(column)`` with the pattern operator class answers whatever the
database's collation; SQLite's ``LIKE`` ignores ASCII case and uses an index whose column
has the ``NOCASE`` collation."""

from django.db import migrations

COLUMNS = ("family_name", "given_name", "email")


def _name(column: str) -> str:
    return f"client_{column}_prefix_idx"


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for column in COLUMNS:
        if vendor == "postgresql":
            expression = f"UPPER({column}) text_pattern_ops"
        elif vendor == "sqlite":
            expression = f"{column} COLLATE NOCASE"
        else:
            return
        schema_editor.execute(f"CREATE INDEX {_name(column)} ON records_client ({expression})")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor not in ("postgresql", "sqlite"):
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS {_name(column)}")


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0008_clinic_address"),
    ]

    operations = [migrations.RunPython(create, drop)]
