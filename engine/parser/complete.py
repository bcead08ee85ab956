"""``complete_statement``: does a text end with a complete SQL statement?

Mirrors sqlite src/complete.c (sqlite3_complete): a small state machine over
coarse tokens that looks for a ``;`` outside strings, quoted names, comments
and CREATE TRIGGER bodies (whose inner ``;`` only end the trigger after END).
Unterminated quotes or ``/*`` comments make the text incomplete.
"""

import re

# Coarse tokens, as complete.c classifies them.
_SEMI, _WS, _OTHER, _EXPLAIN, _CREATE, _TEMP, _TRIGGER, _END = range(8)

# trans[state][token] -> state; state 1 (START) at the end means complete.
_TRANS = (
    # SEMI WS OTHER EXPLAIN CREATE TEMP TRIGGER END
    (1, 0, 2, 3, 4, 2, 2, 2),   # 0 INVALID
    (1, 1, 2, 3, 4, 2, 2, 2),   # 1 START
    (1, 2, 2, 2, 2, 2, 2, 2),   # 2 NORMAL
    (1, 3, 3, 2, 4, 2, 2, 2),   # 3 EXPLAIN
    (1, 4, 2, 2, 2, 4, 5, 2),   # 4 CREATE
    (6, 5, 5, 5, 5, 5, 5, 5),   # 5 TRIGGER
    (6, 6, 5, 5, 5, 5, 5, 7),   # 6 SEMI
    (1, 7, 5, 5, 5, 5, 5, 5),   # 7 END
)

_WORDS = {"create": _CREATE, "trigger": _TRIGGER, "temp": _TEMP, "temporary": _TEMP,
          "end": _END, "explain": _EXPLAIN}

_TOKEN = re.compile(
    r"(;)"                                            # 1
    r"|([ \t\n\f\r]+|--[^\n]*\n?|/\*(?s:.*?)\*/)"     # 2 whitespace and comments
    r"|(/\*|--)"                                      # 3 unterminated comment
    r"|('[^']*'|\"[^\"]*\"|`[^`]*`|\[[^\]]*\])"       # 4 quoted ('' is two strings here too)
    r"|(['\"`\[])"                                    # 5 unterminated quote
    r"|([A-Za-z0-9_$\u0080-\U0010ffff]+)"             # 6 word
    r"|(.)", re.S)                                    # 7 anything else


def complete_statement(sql):
    """True if ``sql`` ends with a complete statement, like sqlite3.complete_statement."""
    state = 0
    pos = 0
    n = len(sql)
    match = _TOKEN.match
    while pos < n:
        m = match(sql, pos)
        g = m.lastindex
        if g == 1:
            token = _SEMI
        elif g == 2:
            if sql[pos] == "-" and not m.group(2).endswith("\n"):
                # A -- comment that runs to the end leaves the state as it was.
                return state == 1
            token = _WS
        elif g == 3 or g == 5:
            return False
        elif g == 6:
            word = m.group(6)
            token = _WORDS.get(word.lower(), _OTHER) if not word[0].isdigit() else _OTHER
        else:
            token = _OTHER
        state = _TRANS[state][token]
        pos = m.end()
    return state == 1
