"""``cryoderm audit`` as an operator runs it (a subprocess on a fresh clinic, SQLite or the
PostgreSQL server): the reported rewrite (guard lifted, an entry changed, every later hash
recomputed, the head moved) is reported, and so is a deletion of the newest entries after a
checkpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from clinic.test_commands import cli, migrated_clinic, shell

pytestmark = pytest.mark.xdist_group("clinic-commands")


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    yield from migrated_clinic(tmp_path_factory)


ADD_CLIENTS = (
    "import datetime; from cryoderm.clinic.records.services import clients; "
    "[clients.create('cli:test', given_name=n, family_name='Test', "
    "date_of_birth=datetime.date(1980, 1, 1), confirm_new_person=True) for n in ('Ann', 'Ben', 'Cat')]; "
    "from cryoderm.clinic.audit.models import ChainHead; print(ChainHead.objects.get(pk=1).seq)"
)
#: The reported attack, as someone with write access to the database (but not the key
#: directory) runs it: the guard lifted, entry FROM changed, every later hash recomputed with
#: SHA-256 so that each links to the one before, the head moved to the new last hash.
REWRITE = """
import hashlib, json
from django.db import connection, transaction
from cryoderm.clinic.audit.chain import canonical_time
from cryoderm.clinic.audit.models import AuditEntry
with transaction.atomic(), connection.cursor() as c:
    c.execute("INSERT INTO audit_guardsuspension (id, reason) VALUES (1, 'x')")
    prev = AuditEntry.objects.get(seq={start} - 1).entry_hash
    for e in AuditEntry.objects.filter(seq__gte={start}).order_by('seq'):
        if e.seq == {start}:
            e.actor = 'someone else'
        e.prev_hash = prev
        content = [e.seq, canonical_time(e.created_at), e.actor, e.action, e.target, e.detail,
                   e.prev_hash, e.key_id]
        e.entry_hash = hashlib.sha256(json.dumps(content, separators=(',', ':')).encode()).hexdigest()
        c.execute('UPDATE audit_auditentry SET actor=%s, prev_hash=%s, entry_hash=%s WHERE seq=%s',
                  [e.actor, e.prev_hash, e.entry_hash, e.seq])
        prev = e.entry_hash
    c.execute('UPDATE audit_chainhead SET entry_hash = %s WHERE id = 1', [prev])
    c.execute('DELETE FROM audit_guardsuspension')
"""
TRUNCATE = """
from django.db import connection, transaction
from cryoderm.clinic.audit.models import AuditEntry
keep = AuditEntry.objects.get(seq={keep})
with transaction.atomic(), connection.cursor() as c:
    c.execute("INSERT INTO audit_guardsuspension (id, reason) VALUES (1, 'x')")
    c.execute('DELETE FROM audit_auditentry WHERE seq > %s', [keep.seq])
    c.execute('UPDATE audit_chainhead SET seq = %s, entry_hash = %s WHERE id = 1',
              [keep.seq, keep.entry_hash])
    c.execute('DELETE FROM audit_guardsuspension')
"""


def test_audit_verify_reports_the_reported_rewrite(migrated) -> None:
    head = int(shell(migrated, ADD_CLIENTS))
    assert cli(migrated, "audit", "verify").returncode == 0
    shell(migrated, REWRITE.format(start=head - 1))
    done = cli(migrated, "audit", "verify")
    assert done.returncode == 1, done.stdout
    assert f"broken at entry #{head - 1}: its content does not match its seal" in done.stderr


def test_audit_verify_reports_deleted_newest_entries_after_a_checkpoint(migrated, tmp_path) -> None:
    env = {**migrated, "CRYODERM_AUDIT_CHECKPOINTS": str(tmp_path / "checkpoints.jsonl")}
    shell(
        env, "from django.core.management import call_command; call_command('flush', '--noinput')"
    )
    head = int(shell(env, ADD_CLIENTS))
    done = cli(env, "audit", "checkpoint")
    assert done.returncode == 0, done.stderr
    last = (tmp_path / "checkpoints.jsonl").read_text().splitlines()[-1]
    assert json.loads(last)["seq"] == head
    shell(env, TRUNCATE.format(keep=head - 2))
    done = cli(env, "audit", "verify")
    assert done.returncode == 1
    assert f"records entry #{head}: the newest entries were deleted" in done.stderr


def test_a_rotated_key_seals_new_entries_and_verify_still_passes(migrated, tmp_path) -> None:
    env = {**migrated, "CRYODERM_AUDIT_CHECKPOINTS": str(tmp_path / "checkpoints.jsonl")}
    shell(
        env, "from django.core.management import call_command; call_command('flush', '--noinput')"
    )
    shell(env, ADD_CLIENTS)
    done = cli(env, "audit", "rotate-key")
    assert done.returncode == 0 and "new audit key" in done.stdout, done.stderr
    shell(env, ADD_CLIENTS)
    done = cli(env, "audit", "verify")
    assert done.returncode == 0, done.stderr
    keys = shell(
        env,
        "from cryoderm.clinic.audit.models import AuditEntry; "
        "print(AuditEntry.objects.values('key_id').distinct().count())",
    )
    assert keys == "2"
