"""``sealbridge``: Typer application; one module per command group."""

from __future__ import annotations

import logging

import typer

from sealbridge.cli import ca, demo, seal, serve, sign, trust, verify

app = typer.Typer(
    name="sealbridge",
    help="Cross-border electronic signatures and electronic company stamps.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("demo")(demo.demo)
app.command("verify")(verify.verify)
app.command("sign")(sign.sign)
app.add_typer(seal.seal_app, name="seal")
app.add_typer(ca.ca_app, name="ca")
app.add_typer(trust.trust_app, name="trust")
app.add_typer(serve.serve_app, name="serve")


@app.callback()
def _root() -> None:
    """SealBridge: sign and verify across Shenzhen, Hong Kong, Beijing and Macao."""


def main() -> None:
    # pyHanko logs its own findings (with tracebacks) while SealBridge reports them as
    # typed results; users should see the report, not the library's internals.
    for name in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    app()
