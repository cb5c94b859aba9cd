"""The application with a reader that aborts its process, for the gunicorn isolation test.

``/crash-upload`` reads the posted bytes as a workbook and answers with the refusal and the
worker's process id, so the test can see that the same worker answers after the crash.
"""

import os

from flask import request

from exports import workbook_reader
from server.app import create_app
from server.extensions import csrf
from tests.exports.sandbox_children import abort

workbook_reader.PARSER = abort
app = create_app()


@app.post("/crash-upload")
@csrf.exempt
def crash_upload():
    result = workbook_reader.read_workbook(request.get_data(), "crash.xlsx", secret=b"k",
                                           resolve=lambda key, version: None)
    return {"pid": os.getpid(), "refusal": result.issues[0].render()}, 422
