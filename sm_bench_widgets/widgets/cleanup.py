"""The "clean up leftovers" button: this tool's endpoints and endpoint configs, listed
first, deleted only on confirmation.

The list is a dry run of ``api.clean_up_leftovers``: resources found by the tool's tag
alone, so untagged and foreign resources never show and are never touched. Deleting takes
exactly the names listed (a resource that appeared since is left for the next look). AWS
calls run in a thread, so the kernel never waits for the network.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from sm_bench_widgets import api
from sm_bench_widgets.aws.clients import Target


def leftovers_html(leftovers: list[api.Leftover]) -> str:
    """The dry-run list: one line per resource, with its kind and run."""
    if not leftovers:
        return (
            "<span class='smb-leftovers'>Nothing to clean up: no endpoint or endpoint config "
            "carries this tool's tag.</span>"
        )
    items = "".join(
        f"<li>{html.escape(r.kind)} <code>{html.escape(r.name)}</code> "
        f"(run {html.escape(r.run_id or '?')})</li>"
        for r in leftovers
    )
    return (
        f"<div class='smb-leftovers'>Would delete {len(leftovers)} resource(s) tagged by "
        f"this tool:<ul style='margin:2px 0'>{items}</ul>A benchmark still running elsewhere "
        "loses its endpoints too. Nothing else in the account is touched.</div>"
    )


class LeftoversCleanup:
    """The button, the dry-run list and the confirmation; ``look()`` and ``confirm()``
    do the same for scripts and tests (``background=False`` waits for the answer)."""

    def __init__(self, target_fn: Callable[[], Target], background: Callable[[], bool]):
        self._target_fn = target_fn
        self._background = background
        self.found: list[api.Leftover] = []
        self.deleted: list[str] = []
        self.look_button = w.Button(
            description="Clean up leftovers",
            icon="trash",
            tooltip="List the endpoints and configs this tool left in the account (dry run)",
            layout=w.Layout(width="auto"),
        )
        self.confirm_button = w.Button(
            description="Delete them", button_style="danger", layout=w.Layout(display="none")
        )
        self.cancel_button = w.Button(description="Cancel", layout=w.Layout(display="none"))
        self.listing = w.HTML()
        self.look_button.on_click(lambda _b: self._run(self.look))
        self.confirm_button.on_click(lambda _b: self._run(self.confirm))
        self.cancel_button.on_click(lambda _b: self.cancel())
        self.widget = w.VBox(
            [w.HBox([self.look_button, self.confirm_button, self.cancel_button]), self.listing]
        )
        self.widget.add_class("smb-cleanup")

    def _run(self, action: Callable[[], Any]) -> None:
        if self._background():
            threading.Thread(target=action, name="smb-cleanup", daemon=True).start()
        else:
            action()

    def look(self) -> list[api.Leftover]:
        """List this tool's leftovers (a dry run) and offer to delete them."""
        self._show_buttons(False)
        self.listing.value = "<span class='smb-leftovers'>Looking for leftovers...</span>"
        try:
            self.found = api.list_leftovers(self._target_fn())
        except Exception as exc:  # shown next to the button; nothing was deleted
            self.found = []
            self.listing.value = _error(f"could not list the leftovers: {exc}")
            return []
        self.listing.value = leftovers_html(self.found)
        self._show_buttons(bool(self.found))
        return list(self.found)

    def confirm(self) -> list[str]:
        """Delete the resources listed by the last ``look()``; the names deleted."""
        names = {r.name for r in self.found}
        self._show_buttons(False)
        if not names:
            return []
        lines: list[str] = []
        self.listing.value = f"<span class='smb-leftovers'>Deleting {len(names)}...</span>"
        try:
            self.deleted = api.clean_up_leftovers(self._target_fn(), only=names, out=lines.append)
        except Exception as exc:  # some deletions failed: each is named
            self.deleted = []
            self.listing.value = _error(f"cleanup incomplete: {exc}") + _lines(lines)
            return []
        finally:
            self.found = []
        count = sum(line.startswith("deleted ") for line in lines)
        self.listing.value = (
            f"<span class='smb-leftovers'>Deleted {count} resource(s).</span>" + _lines(lines)
        )
        return list(self.deleted)

    def cancel(self) -> None:
        """Forget the listed leftovers; nothing is deleted."""
        self.found = []
        self._show_buttons(False)
        self.listing.value = "<span class='smb-leftovers'>Nothing deleted.</span>"

    def _show_buttons(self, confirm: bool) -> None:
        display = "" if confirm else "none"
        self.confirm_button.layout.display = display
        self.cancel_button.layout.display = display
        if confirm:
            self.confirm_button.description = f"Delete these {len(self.found)}"

    def set_disabled(self, disabled: bool) -> None:
        """Locked while a run goes on (its own endpoints carry the tag too)."""
        for button in (self.look_button, self.confirm_button, self.cancel_button):
            button.disabled = disabled


def _error(message: str) -> str:
    return f"<span class='smb-leftovers' style='color:#b00020'>{html.escape(message)}</span>"


def _lines(lines: list[str]) -> str:
    if not lines:
        return ""
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return f"<ul class='smb-leftovers-log' style='margin:2px 0'>{items}</ul>"
