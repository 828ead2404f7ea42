"""Unbound singletons; create_app binds them. Nothing here touches a database or the network."""
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx
from peewee import DatabaseProxy

db = DatabaseProxy()
login_manager = LoginManager()
htmx = Htmx()
csrf = CSRFProtect()
