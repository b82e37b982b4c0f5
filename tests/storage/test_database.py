"""Opening databases: bad URLs, unreachable servers, secrets kept out of messages."""

import pytest

import adaptive as ad
from adaptive.storage import Database, mask


@pytest.mark.parametrize("url", ["not a url", "", "nosuchdb://x/y"])
def test_bad_urls_name_the_storage_field(url):
    with pytest.raises(ad.ValidationError) as info:
        Database(url)
    assert info.value.field == "storage"


def test_unreachable_postgres_hides_the_password():
    with pytest.raises(ad.StorageUnavailableError) as info:
        ad.list_experiments(storage="postgresql://admin:s3cret@127.0.0.1:1/test")
    assert "s3cret" not in str(info.value) and "***" in str(info.value)
    assert "127.0.0.1:1" in str(info.value)


def test_unopenable_sqlite_path(tmp_path):
    with pytest.raises(ad.StorageUnavailableError):
        Database(f"sqlite:///{tmp_path}/missing/dir/x.db")


def test_mask():
    assert mask("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"
    assert mask("sqlite:///a.db") == "sqlite:///a.db"


MALFORMED = [
    "postgresql//postgres:s3cretpw@127.0.0.1/db",  # no colon after the scheme
    "postgresql:/postgres:s3cretpw@127.0.0.1/db",  # one slash
    "post gresql://postgres:s3cretpw@127.0.0.1/db",  # a space in the scheme
    "postgresql://postgres:s3cretpw@127.0.0.1:notaport/db",
    "postgresql://postgres:s3cretpw@[::1/db",
    "postgresql://postgres:s3c@retpw@127.0.0.1:1/db",  # an unencoded "@" in the password
]


@pytest.mark.parametrize("url", MALFORMED)
def test_malformed_urls_never_show_the_password(url):
    assert "s3c" not in mask(url) and "retpw" not in mask(url) and "***" in mask(url)
    with pytest.raises(ad.ValidationError) as info:
        ad.load_experiment("x", storage=url)
    shown = str(info.value) + repr(info.value) + repr(info.value.value)
    assert info.value.field == "storage" and "s3c" not in shown and "retpw" not in shown


def test_default_url_comes_from_the_environment(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path}/env.db"
    monkeypatch.setenv("ADAPTIVE_DATABASE_URL", url)
    ad.create_experiment("e", parameters={"x": ad.Float(0, 1)}, objectives=ad.Maximize("y"))
    assert ad.list_experiments(storage=url) == ["e"]
    monkeypatch.delenv("ADAPTIVE_DATABASE_URL")
    monkeypatch.chdir(tmp_path)
    assert ad.list_experiments() == [] and not (tmp_path / "adaptive.db").exists()  # a read creates nothing
    ad.create_experiment("d", parameters={"x": ad.Float(0, 1)}, objectives=ad.Maximize("y"))
    assert (tmp_path / "adaptive.db").exists() and ad.list_experiments() == ["d"]


def test_in_memory_sqlite_works_within_one_database_object():
    db = Database("sqlite://")
    exp = ad.create_experiment("mem", storage=db, parameters={"x": ad.Float(0, 1)}, objectives=ad.Maximize("y"))
    t = exp.suggest(1)[0]
    assert exp.complete(t.id, {"y": 1.0}).status == ad.TrialStatus.COMPLETED
    assert ad.list_experiments(storage=db) == ["mem"]


def test_sqlite_uses_wal(sqlite_url):
    db = Database(sqlite_url)
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
