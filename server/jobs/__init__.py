"""The job runner: one huey instance per application, configured by its settings.

:mod:`server.jobs.runner` owns the huey instance (SQLite storage in the instance
folder by default, Redis when ``REDIS_URL`` is set) and the tasks registered on
it; :mod:`server.jobs.delivery` is the work of the notification tasks. Every task
runs inside an application context of the application that built the instance.
"""
