"""A password hasher for the tests: PBKDF2 at one iteration.

Django's default PBKDF2 takes most of a second per password by design, and nearly every
test makes a buyer. The hash this writes keeps PBKDF2's own algorithm name and its
iteration count, so a server the tests start (gunicorn, with the default hashers) checks
it like any other PBKDF2 hash.
"""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class QuickPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = 1
