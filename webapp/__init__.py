"""Application factory."""
from pathlib import Path

from flask import Flask

from webapp import config as config_module

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config=None):
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(config_module.defaults(app.instance_path))
    app.config.from_pyfile("config.py", silent=True)
    config_module.load_env(app)
    if test_config:
        app.config.update(test_config)
    config_module.finalize(app)

    from webapp import db, security
    from webapp.extensions import csrf, htmx

    db.init_app(app)
    htmx.init_app(app)
    csrf.init_app(app)
    security.init_app(app)

    from webapp import blueprints

    blueprints.register(app)

    from webapp import cli, dispatch, templating

    dispatch.init_app(app)
    templating.init_app(app)
    cli.init_app(app)
    return app
