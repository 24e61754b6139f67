"""The bare extension instances, bound to an app by the factory."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
# Flask-Migrate is set up only for `flask db ...` (app/db_commands.py): Alembic is slow to import.
# Named `mailer`: `app.mail` is the mail pipeline package.
mailer = Mail()
csrf = CSRFProtect()
login_manager = LoginManager()
# Limits are declared on the views; storage and the on/off switch come from config.
limiter = Limiter(key_func=get_remote_address)
# Languages: the selector and the catalogues' folder are set by the factory (app.i18n).
babel = Babel()
