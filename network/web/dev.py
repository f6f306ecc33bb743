"""(being written)"""

from flask import Blueprint

bp = Blueprint("dev", __name__)
