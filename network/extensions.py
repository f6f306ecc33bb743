"""Flask extensions, created once at module level and bound in ``create_app``.

Talisman is not here: it keeps its settings on the instance, so one shared instance would
carry one app's settings (e.g. production's forced HTTPS) into every other app in the process.
``create_app`` makes one per app."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()
migrate = Migrate()
limiter = Limiter(key_func=get_remote_address, default_limits=[], strategy="fixed-window")
