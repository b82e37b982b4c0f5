"""What a cron round runs: TOML configs (``config``), creating or updating an experiment from
one (``apply_config``), one experiment's round (``rounds``, under the lock in
``adaptive.storage.locks``), and a fleet of due experiments (``fleet``). Metric sources are
their own package (``adaptive.sources``)."""
