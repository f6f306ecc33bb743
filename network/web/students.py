"""(being written)"""

from flask import Blueprint

bp = Blueprint("students", __name__)
