"""
Staff accounts: roles, sign-in with a second factor (django-otp), lockout
after repeated failures, and the management of accounts by admins.
"""
