"""The lines of a ``def`` block without tokenizing them.

``inspect.getsourcelines`` finds where a function's block ends by running
Python's tokenizer over it (a twentieth of a transform's time).
:func:`def_block` finds the same lines from indentation alone in the plain
case: the block ends before the first line of code indented no deeper than
the ``def``, less the blank lines before it. That line may sit inside a
bracket or string of the block instead of starting a statement; the block
is then cut inside that bracket or string, so it does not parse: the
caller checks that it parses, and else asks ``inspect``. Where the
tokenizer's answer depends on more (tabs in the indentation; a comment
indented deeper than the ``def`` after its last line of code, which
``inspect`` keeps when indented as deep as the body) it returns None.

>>> lines = ["def f(x):\\n", "    y = (x +\\n", "1)\\n", "    return y\\n", "\\n", "g = 2\\n"]
>>> def_block(lines, 0)  # cut inside the bracket: the caller finds it does not parse
['def f(x):\\n', '    y = (x +\\n']
>>> def_block(["def f(x):\\n", "    return x\\n", "\\n", "# next\\n", "g = 2\\n"], 0)
['def f(x):\\n', '    return x\\n']
"""


def def_block(lines, first):
    """The block of the ``def`` (after its decorators) at ``lines[first]``,
    as ``inspect.getblock(lines[first:])`` finds it provided the block
    parses; None when only the tokenizer can tell."""
    header = first
    while lines[header].lstrip(" ").startswith("@"):  # one-line decorators
        header += 1
        if header == len(lines):
            return None
    text = lines[header].lstrip(" ")
    if not text.startswith(("def ", "async def ")):
        return None
    base = len(lines[header]) - len(text)
    last = header  # the last line of code
    comments = False  # a comment indented deeper than the def after it
    for i in range(header + 1, len(lines)):
        line = lines[i]
        text = line.lstrip(" ")
        if not text.strip():
            continue
        if text[0] in "\t\f\v":
            return None
        indent = len(line) - len(text)
        if text[0] == "#":
            comments = comments or indent > base
            continue
        if indent <= base:
            break
        last, comments = i, False
    return None if comments else lines[first:last + 1]
