"""XSS payloads pasted into every free-text field (not collected).

Each payload, if a page ever let it run, sets `window.__xss` (or `window.top.__xss`), which the
browser test reads after every page load. None of them does anything else: no network, no
alerts, nothing about anyone. Groups: script tags, event handlers, SVG, `javascript:` and
`data:` URLs, markup that breaks out of attributes, textareas and titles, encoded and
mixed-case spellings, parser differentials (mXSS), Unicode look-alikes and invisible
characters, and template syntax that must stay text (`{{7*7}}` must never read 49).
"""

from __future__ import annotations

FLAG = "window.__xss=1"

PAYLOADS: list[str] = [
    # script tags, mixed case, broken-up and nested spellings
    f"<script>{FLAG}</script>",
    f"<SCRIPT>{FLAG}</SCRIPT>",
    f"<ScRiPt>{FLAG}</sCrIpT>",
    f"<script src=data:text/javascript,{FLAG}></script>",
    f"<scr<script>ipt>{FLAG}</scr</script>ipt>",
    f"</script><script>{FLAG}</script>",
    # event handlers
    f'<img src=x onerror="{FLAG}">',
    f"<img src=x onerror={FLAG}>",
    f"<IMG SRC=x OnErRoR={FLAG}>",
    f"<body onload={FLAG}>",
    f"<details open ontoggle={FLAG}>",
    f"<input autofocus onfocus={FLAG}>",
    f"<video><source onerror={FLAG}></video>",
    f"<div style=position:fixed;inset:0 onmouseover={FLAG}>x</div>",
    "<img src=x onerror=&#119;indow.__xss=1>",
    # SVG and MathML
    f"<svg onload={FLAG}>",
    f"<svg/onload={FLAG}>",
    f"<svg><script>{FLAG}</script></svg>",
    f'<svg><a xlink:href="javascript:{FLAG}"><text x=9 y=9>x</text></a></svg>',
    f"<svg><animate onbegin={FLAG} attributeName=x dur=1s>",
    f"<math><mtext><table><mglyph><style><img src=x onerror={FLAG}>",
    # javascript: and data: URLs
    f"javascript:{FLAG}",
    f"JaVaScRiPt:{FLAG}",
    f"java\tscript:{FLAG}",
    f'<a href="javascript:{FLAG}">open</a>',
    '<iframe src="javascript:window.top.__xss=1"></iframe>',
    "<iframe srcdoc=\"<script>window.top.__xss=1</script>\"></iframe>",
    f"data:text/html,<script>{FLAG}</script>",
    f'<object data="javascript:{FLAG}"></object>',
    f'<embed src="javascript:{FLAG}">',
    f'<form action="javascript:{FLAG}"><button>go</button></form>',
    f'<meta http-equiv="refresh" content="0;url=javascript:{FLAG}">',
    f'<base href="javascript:{FLAG}//">',
    # breaking out of attributes, textareas, titles, comments
    f'"><script>{FLAG}</script>',
    f"'><img src=x onerror={FLAG}>",
    f'" autofocus onfocus="{FLAG}',
    f"</textarea><script>{FLAG}</script>",
    f"</title><script>{FLAG}</script>",
    f'<!--<img src="--><img src=x onerror={FLAG}//">',
    f'<noscript><p title="</noscript><img src=x onerror={FLAG}>">',
    f"<![CDATA[<script>{FLAG}</script>]]>",
    # already encoded: must show as typed, neither decoded nor run
    f"&lt;script&gt;{FLAG}&lt;/script&gt;",
    f"&#60;script&#62;{FLAG}&#60;/script&#62;",
    f"%3Cscript%3E{FLAG}%3C%2Fscript%3E",
    f"\\u003cscript\\u003e{FLAG}\\u003c/script\\u003e",
    # Unicode: fullwidth brackets, zero-width joiner/space, right-to-left override
    f"＜script＞{FLAG}＜/script＞",
    f"<scr\u200dipt>{FLAG}</scr\u200dipt>",
    f"<\u200bscript>{FLAG}</script>",
    f"\u202e<script>{FLAG}</script>",
    # template injection: must stay exactly this text
    "{{7*7}}",
    "{{ 7*7 }} ${7*7} #{7*7} <%= 7*7 %>",
    "{% if 1 %}x{% endif %}{{ config }}{{''.__class__}}",
]


def joined(sep: str = "\n") -> str:
    """Every payload in one text (pasted evidence, long notes)."""
    return sep.join(PAYLOADS)
