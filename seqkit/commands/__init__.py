"""Commands of the ``seqkit`` CLI that are not LightningCLI subcommands; each module has ``main(argv)``."""
