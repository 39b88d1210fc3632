"""Commands of the ``seqkit`` CLI other than LightningCLI's: typed functions that ``seqkit.cli`` runs."""
