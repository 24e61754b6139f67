"""The WSGI entry point: `gunicorn wsgi:app` (see gunicorn.conf.py), and the app that every
`flask` command (`flask mail worker` among them) loads."""

import gc

# Building the app allocates some 100,000 objects that live as long as the process (modules,
# classes, mappings) and hardly any garbage; yet the cyclic collector ran about 170 times
# over them, a tenth of each worker's start-up CPU. It rests while the app is built, and
# what was built is frozen: the collector need not walk it again (as Python's docs advise
# before gunicorn forks, too).
collecting = gc.isenabled()
gc.disable()
try:
    from app import create_app

    app = create_app()
    gc.freeze()
finally:
    if collecting:
        gc.enable()
