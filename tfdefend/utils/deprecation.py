"""Deprecated aliases of renamed public functions, kept for one release."""

import functools
import warnings


def deprecated_alias(function, old_name):
    """A function named `old_name` that warns, then returns `function(*args, **kwargs)`.

    Each call emits one `DeprecationWarning` naming `function` (attributed to
    the caller, so Python's warning filters show it once per calling line by
    default), then behaves exactly as `function`: same arguments, result and
    exceptions. The alias keeps `function`'s signature (`inspect.signature`
    follows `__wrapped__`) and has its own short docstring.

    Args:
        function: The function under its new name.
        old_name: The name the alias is exported under.

    Returns:
        The alias.
    """
    new_name = function.__name__
    message = (f"`{old_name}` is deprecated and will be removed in the next release; use `{new_name}` "
               "(same arguments, same result).")

    @functools.wraps(function)
    def alias(*args, **kwargs):
        warnings.warn(message, DeprecationWarning, stacklevel=2)
        return function(*args, **kwargs)

    alias.__name__ = old_name
    alias.__qualname__ = old_name
    alias.__doc__ = (f"Deprecated alias of `{new_name}` (renamed; removed in the next release).\n\n"
                     f"Warns with `DeprecationWarning`, then calls `{function.__module__}.{new_name}` with the "
                     "same arguments and returns its result.\n")
    return alias
