"""The chat page (Streamlit): ``page`` draws it and is the script Streamlit runs,
``resources`` holds what it caches (model, index, preload), ``markup`` the escaped HTML of
its cards, ``server`` starts it for ``privacy-qa ui``.

Its modules are named so that none shadows a standard or installed module: Streamlit puts
this directory on ``sys.path`` when it runs ``page.py`` (so no ``html.py`` here).
"""
