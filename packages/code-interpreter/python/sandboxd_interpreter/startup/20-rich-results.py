# Run by the Python kernels at start (IPKernelApp.exec_files), in the user's namespace: it only
# calls into sandboxd_interpreter.formatters and leaves no names behind.
def _sandboxd_rich_results():
    import os
    import sys

    here = globals().get("__file__")
    if here:
        # The package's parent dir, in case the kernel was started without it on PYTHONPATH.
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(here))))
        if root not in sys.path:
            sys.path.append(root)
    try:
        from sandboxd_interpreter import formatters

        formatters.install(get_ipython())  # noqa: F821 (IPython provides it)
    except Exception as err:  # a broken extra must not stop the kernel from starting
        print(f"sandboxd: rich results are off: {err!r}", file=sys.__stderr__)


_sandboxd_rich_results()
del _sandboxd_rich_results
