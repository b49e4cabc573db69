"""`make present`: a notebook served as a live page with its code hidden (Voilà), for a lecture.

    python -m specviz.serve notebooks/10_lecture.ipynb --port 8888

Voilà runs the notebook top to bottom in the notebook's own kernel ("specviz") and shows the
outputs only: widgets stay live (the kernel keeps running while the page is open), code cells
are not sent to the browser at all. One scrolling page (Voilà's "lab" template): its reveal.js
slideshow template loads reveal.js from a CDN, so offline, as here, it shows no slides at all.
The notebook's kernel sees ``SPECVIZ_PRESENT=1`` in its environment: a notebook can switch the
projector setting on with it (``present(os.environ.get("SPECVIZ_PRESENT") == "1")``).

Localhost only (127.0.0.1) and a token always on: a fresh one per launch, printed in the URL
and never on a command line. The server's whole configuration is built here and Voilà is told
to read no configuration file, so no ``voila.py``/``voila.json`` of the user's (in the working
folder or in Jupyter's config path) can switch the token off, open the server to the network or
swap the login. A request without the token is refused (sent to the login page, or 403).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from pathlib import Path

from specviz.ports import free_port


def check_notebook(path: str) -> Path:
    """``path`` as a Path to an existing ``.ipynb`` file, or a ValueError that says what to pass."""
    notebook = Path(path)
    if notebook.suffix != ".ipynb":
        raise ValueError(f"{path} is not a notebook (.ipynb); make present NOTEBOOK=notebooks/"
                         "02_step_through.ipynb serves another one")
    if not notebook.is_file():
        raise ValueError(f"{path} not found; make present NOTEBOOK=notebooks/02_step_through.ipynb "
                         "serves another notebook")
    try:
        json.loads(notebook.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not a readable notebook: {err}") from None
    return notebook


def voila_config(token: str, port: int):
    """The whole configuration of the Voilà server (a traitlets Config)."""
    from traitlets.config import Config

    if not token:
        raise ValueError("the token must not be empty (it is what keeps others out)")
    config = Config()
    config.Voila.ip = "127.0.0.1"
    config.Voila.port = port
    config.Voila.port_retries = 0             # the port printed is the port served, or it fails
    config.Voila.open_browser = False
    config.Voila.token = token
    config.Voila.config_file_paths = []       # read no voila.py / voila.json: this is all of it
    # the login page must not offer to swap the token for a password (written to the cwd)
    config.PasswordIdentityProvider.allow_password_change = False
    config.VoilaConfiguration.template = "lab"
    config.VoilaConfiguration.strip_sources = True    # code never reaches the browser
    config.VoilaConfiguration.show_tracebacks = True  # an error in front of a class says what
    return config


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m specviz.serve", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebook", help="the notebook to serve (.ipynb)")
    parser.add_argument("--port", type=int, default=8888,
                        help="the port to use, or the next free one above it (default 8888)")
    args = parser.parse_args(argv)
    try:
        notebook = check_notebook(args.notebook)
        port = free_port(args.port)
    except (ValueError, OSError) as err:
        print(f"specviz: {err}", file=sys.stderr)
        return 2
    if port != args.port:
        print(f"specviz: port {args.port} is taken (another Jupyter?), so the lecture uses {port}; "
              "`make present PORT=n` chooses one", file=sys.stderr)
    token = secrets.token_urlsafe(32)
    os.environ["SPECVIZ_PRESENT"] = "1"         # for the kernels this server starts
    from voila.app import Voila

    print(f"specviz: {notebook.name} with its code hidden at http://127.0.0.1:{port}/?token={token}",
          flush=True)
    Voila.launch_instance([str(notebook)], config=voila_config(token, port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
