"""xlwings Lite editions: Python that travels inside the workbook (Mac and Excel on the web).

:mod:`.bundle` builds the embedded ``main.py`` and ``requirements.txt`` from the
package's own pure modules; :mod:`.webext` reads and writes them in the
workbook's web-extension part; :mod:`.template` turns a desktop template into
its Lite edition; :mod:`.keep` refuses writes that would lose the code. The
Lite functions themselves are :mod:`.host` (never imported here: it needs
xlwings' Lite API).
"""
