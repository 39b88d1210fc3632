"""The model summary printed when training starts, without Lightning's FLOPs column.

Lightning counts FLOPs by running the model on ``example_input_array``; seqkit's recurrent models define none, so
the column and the "Total FLOPs" line always read 0 and tell the user nothing.
"""

from __future__ import annotations

from typing import Any

from lightning.pytorch.callbacks import ModelSummary
from lightning.pytorch.utilities.model_summary.model_summary import get_formatted_model_size, get_human_readable_count


class ParameterSummary(ModelSummary):
    """Lightning's layer table (name, type, parameters, mode) and parameter totals, FLOPs left out."""

    @staticmethod
    def summarize(
        summary_data: list[tuple[str, list[str]]],
        total_parameters: int,
        trainable_parameters: int,
        model_size: float,
        total_training_modes: dict[str, int],
        total_flops: int = 0,
        **summarize_kwargs: Any,
    ) -> None:
        from rich import get_console
        from rich.table import Table

        columns = [(name, values) for name, values in summary_data if name != "FLOPs"]
        table = Table(header_style="bold magenta")
        for name, _ in columns:
            table.add_column(name, justify="right" if name in ("Params", "Params per Device") else "left")
        for row in zip(*(values for _, values in columns)):
            table.add_row(*row)
        console = get_console()
        console.print(table)
        trainable, frozen, total = (get_human_readable_count(int(n)).strip() for n in (
            trainable_parameters, total_parameters - trainable_parameters, total_parameters))
        console.print(f"Parameters: {trainable} trainable, {frozen} frozen, {total} in all "
                      f"({get_formatted_model_size(model_size)} MB)")
