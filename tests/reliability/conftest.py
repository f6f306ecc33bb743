"""The referral world of tests/referrals (a school, a gemeente with a jobcoach service, a
student with consent) for the fault tests."""

from tests.referrals.conftest import ractors, rworld  # noqa: F401 - fixtures
