"""The clinic's server-rendered user interface: Django templates, htmx, no build step.

Views are thin adapters (parse, call one records/clinical service, render); every page checks
the signed-in user's role through :mod:`cryoderm.clinic.accounts` before it shows anything.
"""
