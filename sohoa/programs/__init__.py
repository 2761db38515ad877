"""One door per external program, every door through one runner.

Why: an external program is where a pipeline hangs, floods a terminal or fails
without saying why. :mod:`sohoa.programs.run` gives every call a mandatory timeout,
an environment passed per call, stderr captured to the logger
``sohoa.programs.<name>``, a domain error on failure and a check that the expected
output exists. One module per program (:mod:`~sohoa.programs.tesseract`,
:mod:`~sohoa.programs.pdftoppm`, :mod:`~sohoa.programs.pdfsig`,
:mod:`~sohoa.programs.jbig2dec`, the last one lent to pikepdf as its decoder) knows its command
line and how to read its output, so no other module spells a command line.
(OCRmyPDF: ``subprocess/_run.py`` and ``_exec/tesseract.py``.)

This package imports only the kernel (:mod:`sohoa.errors`) and third-party libraries.
"""
