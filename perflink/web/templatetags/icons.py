"""Inline SVG icons (24x24 grid, 2px strokes, drawn for Perflink), so pages load no icon font or CDN."""

from __future__ import annotations

# Each value is the inner markup of one <svg viewBox="0 0 24 24">.
ICONS: dict[str, str] = {
    "home": '<path d="M3 10.5 12 3l9 7.5"/><path d="M5 9.5V21h5v-6h4v6h5V9.5"/>',
    "org": '<rect x="9" y="2.5" width="6" height="5" rx="1"/>'
    '<rect x="2.5" y="16.5" width="6" height="5" rx="1"/><rect x="15.5" y="16.5" width="6" height="5" rx="1"/><path d="M12 7.5V12M5.5 16.5V12h13v4.5"/>',
    "people": '<circle cx="9" cy="8" r="3.5"/><path d="M2.5 20.5c0-3.6 2.9-6 6.5-6s6.5 2.4 6.5 6"/>'
    '<path d="M16 4.8a3.5 3.5 0 0 1 0 6.4M18 14.8c2.1.7 3.5 2.8 3.5 5.7"/>',
    "database": '<ellipse cx="12" cy="5.5" rx="8" ry="3"/><path d="M4 5.5v13c0 1.7 3.6 3 8 3s8-1.3 8-3v-13"/>'
    '<path d="M4 12c0 1.7 3.6 3 8 3s8-1.3 8-3"/>',
    "gauge": '<path d="M3.5 17a9 9 0 1 1 17 0"/><path d="m12 14 4.5-5"/><circle cx="12" cy="14" r="1.6"/>'
    '<path d="M3.5 17h17"/>',
    "link": '<path d="M10 14a4.5 4.5 0 0 0 6.4 0l3.2-3.2a4.5 4.5 0 0 0-6.4-6.4l-1.1 1.1"/>'
    '<path d="M14 10a4.5 4.5 0 0 0-6.4 0l-3.2 3.2a4.5 4.5 0 0 0 6.4 6.4l1.1-1.1"/>',
    "coins": '<ellipse cx="9" cy="7" rx="6" ry="3"/><path d="M3 7v4c0 1.7 2.7 3 6 3s6-1.3 6-3V7"/>'
    '<path d="M3 11v4c0 1.7 2.7 3 6 3 1.1 0 2.1-.1 3-.4"/><ellipse cx="16" cy="15" rx="5" ry="2.5"/>'
    '<path d="M11 15v3.5c0 1.4 2.2 2.5 5 2.5s5-1.1 5-2.5V15"/>',
    "handshake": '<path d="m11 17 2 2a1.4 1.4 0 0 0 2-2"/><path d="m14 14 2.5 2.5a1.4 1.4 0 0 0 2-2l-3.9-3.9'
    'a3 3 0 0 0-4.2 0l-.9.9a1.4 1.4 0 0 1-2-2l2.8-2.8a5 5 0 0 1 5.3-1.1l.4.2a2 2 0 0 0 1.5.1L21 5"/>'
    '<path d="m21 4 1 9h-2"/><path d="M3 4 2 13l6.5 6.5a1.4 1.4 0 0 0 2-2"/><path d="M3 5h8"/>',
    "chart": '<path d="M3 3v18h18"/><rect x="7" y="12" width="3" height="6" rx=".5"/>'
    '<rect x="12" y="8" width="3" height="10" rx=".5"/><rect x="17" y="5" width="3" height="13" rx=".5"/>',
    "user": '<circle cx="12" cy="8" r="4"/><path d="M4 21c0-4.4 3.6-7 8-7s8 2.6 8 7"/>',
    "shield": '<path d="M12 2.5 4 5.5v6c0 5 3.4 8.8 8 10 4.6-1.2 8-5 8-10v-6z"/>'
    '<path d="m8.5 12 2.5 2.5 4.5-5"/>',
    "gear": '<circle cx="12" cy="12" r="3"/><path d="M19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 2 0 1 1-2.8 2.8l-.1-.1'
    "a1.7 1.7 0 0 0-1.8-.3 1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1a1.7 1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3"
    "l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1a1.7 1.7 0 0 0 .3-1.8 1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 0-4h.1a1.7 1.7 0 0 0"
    " 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1a2 2 0 1 1 2.8-2.8l.1.1a1.7 1.7 0 0 0 1.8.3H9a1.7 1.7 0 0 0 1-1.5V3"
    "a2 2 0 1 1 4 0v.1a1.7 1.7 0 0 0 1 1.5 1.7 1.7 0 0 0 1.8-.3l.1-.1a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3"
    ' 1.8V9a1.7 1.7 0 0 0 1.5 1H21a2 2 0 1 1 0 4h-.1a1.7 1.7 0 0 0-1.5 1z"/>',
    "building": '<rect x="4" y="2.5" width="11" height="19" rx="1"/><path d="M15 9h4a1 1 0 0 1 1 1v11.5"/>'
    '<path d="M2.5 21.5h19M8 6.5h3M8 10.5h3M8 14.5h3M9.5 21.5v-3"/>',
    "team": '<circle cx="12" cy="7" r="3"/><circle cx="5" cy="10" r="2.2"/><circle cx="19" cy="10" r="2.2"/>'
    '<path d="M7 20c0-3 2.2-5 5-5s5 2 5 5M1.5 19c0-2.2 1.5-3.8 3.5-3.8M22.5 19c0-2.2-1.5-3.8-3.5-3.8"/>',
    "chevron-right": '<path d="m9 5 7 7-7 7"/>',
    "chevron-left": '<path d="m15 5-7 7 7 7"/>',
    "chevron-down": '<path d="m5 9 7 7 7-7"/>',
    "sort": '<path d="m8 9 4-4 4 4M8 15l4 4 4-4"/>',
    "sort-asc": '<path d="m7 14 5-5 5 5"/>',
    "sort-desc": '<path d="m7 10 5 5 5-5"/>',
    "search": '<circle cx="11" cy="11" r="7"/><path d="m20.5 20.5-4.5-4.5"/>',
    "filter": '<path d="M3 4.5h18l-7 8.5v6l-4 1.5V13z"/>',
    "logout": '<path d="M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4"/><path d="m16 17 5-5-5-5M21 12H9"/>',
    "globe": '<circle cx="12" cy="12" r="9.5"/>'
    '<path d="M2.5 12h19M12 2.5c2.6 2.7 3.9 5.8 3.9 9.5s-1.3 6.8-3.9 9.5c-2.6-2.7-3.9-5.8-3.9-9.5S9.4 5.2 12 2.5z"/>',
    "key": '<circle cx="7.5" cy="15.5" r="4.5"/><path d="m10.8 12.2 9.7-9.7M17 6l3 3M14.5 8.5l2.5 2.5"/>',
    "download": '<path d="M12 3v12M7 10l5 5 5-5"/><path d="M4 17v2.5A1.5 1.5 0 0 0 5.5 21h13a1.5 1.5 0 0 0'
    ' 1.5-1.5V17"/>',
    "copy": '<rect x="8.5" y="8.5" width="12.5" height="12.5" rx="2"/><path d="M15.5 8.5V5a2 2 0 0 0-2-2H5'
    'a2 2 0 0 0-2 2v8.5a2 2 0 0 0 2 2h3.5"/>',
    "alert": '<path d="M10.3 3.9 1.9 18a2 2 0 0 0 1.7 3h16.8a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z"/>'
    '<path d="M12 9v4.5M12 17.3v.2"/>',
    "info": '<circle cx="12" cy="12" r="9.5"/><path d="M12 11v5.5M12 7.5v.2"/>',
    "check": '<path d="m4.5 12.5 5 5 10-11"/>',
    "check-circle": '<circle cx="12" cy="12" r="9.5"/><path d="m7.5 12.5 3 3 6-6.5"/>',
    "x": '<path d="M6 6l12 12M18 6 6 18"/>',
    "lock": '<rect x="4" y="10.5" width="16" height="11" rx="2"/><path d="M8 10.5V7a4 4 0 0 1 8 0v3.5"/>',
    "eye-off": '<path d="M10.6 5.1A9.8 9.8 0 0 1 12 5c5.5 0 9.5 5 10 7-.2.9-1.1 2.4-2.5 3.9M6.6 6.6C4.2 8'
    ' 2.4 10.6 2 12c.5 2 4.5 7 10 7a9.7 9.7 0 0 0 5.4-1.6"/><path d="M9.9 9.9a3 3 0 0 0 4.2 4.2M3 3l18 18"/>',
    "external": '<path d="M14 3h7v7M21 3l-9 9"/><path d="M19 14v5a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V7a2 2 0 0 1'
    ' 2-2h5"/>',
    "plus": '<path d="M12 5v14M5 12h14"/>',
    "trash": '<path d="M3.5 6h17M9 6V3.5h6V6M6 6l1 15h10l1-15"/>',
    "bell": '<path d="M6 9a6 6 0 0 1 12 0c0 5.5 2.5 7.5 2.5 7.5h-17S6 14.5 6 9z"/><path d="M10 20.5a2.2 2.2 0 0 0 4 0"/>',
    "clock": '<circle cx="12" cy="12" r="9.5"/><path d="M12 7v5.5l3.5 2"/>',
    "book": '<path d="M4 4.5A1.5 1.5 0 0 1 5.5 3H20v15H5.5A1.5 1.5 0 0 0 4 19.5z"/><path d="M4 19.5A1.5 1.5 0'
    ' 0 0 5.5 21H20v-3"/>',
    "history": '<path d="M3 12a9 9 0 1 0 2.6-6.4L3 8"/><path d="M3 3v5h5M12 7.5V12l3 2"/>',
    "compass": '<circle cx="12" cy="12" r="9.5"/><path d="m15.5 8.5-2 5-5 2 2-5z"/>',
    "tools": '<path d="M14.7 6.3a4 4 0 0 0 5 5L21 12.6 12.6 21a2.1 2.1 0 0 1-3-3L18 9.7"/>'
    '<path d="M9.5 9.5 4 4M3 7l4-4"/>',
    "menu": '<path d="M3 6h18M3 12h18M3 18h18"/>',
    "logo": '<path d="M8.5 17a5 5 0 0 1 0-10h3M15.5 7a5 5 0 0 1 0 10h-3M8.5 12h7"/>',
    "dot": '<circle cx="12" cy="12" r="4" fill="currentColor" stroke="none"/>',
}


def svg(name: str, size: int = 18, css_class: str = "") -> str:
    body = ICONS.get(name, ICONS["dot"])
    cls = f"icon {css_class}".strip()
    return (
        f'<svg class="{cls}" width="{size}" height="{size}" viewBox="0 0 24 24" fill="none"'
        f' stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"'
        f' focusable="false">{body}</svg>'
    )
