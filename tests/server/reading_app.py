"""The application with a route that reads any posted file with the real upload reader.

``/read-upload/<name>`` answers with how many problems the reader found and the worker's
process id, so the gunicorn memory test can read that worker's peak memory afterwards.
"""

import os

from flask import request

from exports import workbook_reader
from server.app import create_app
from server.extensions import csrf

app = create_app()


@app.post("/read-upload/<name>")
@csrf.exempt
def read_upload(name: str):
    result = workbook_reader.read_workbook(request.get_data(), name, secret=b"k",
                                           resolve=lambda key, version: None)
    return {"pid": os.getpid(), "errors": sum(1 for i in result.issues if i.is_error)}, 422
