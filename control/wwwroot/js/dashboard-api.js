// The helpers every dashboard page script shares, in one place: elements built with textContent only (values from the
// API never become markup), the antiforgery token the cookie session's unsafe requests carry, JSON requests to the
// admin API, and the sentence a problem+json answer (RFC 9457) gives the user. Loaded before the page's own script.
(function () {
    'use strict';

    /** A new element with text (never markup) and a class. */
    function el(tag, text, className) {
        const e = document.createElement(tag);
        if (text !== undefined && text !== null) e.textContent = text;
        if (className) e.className = className;
        return e;
    }

    /** The page's antiforgery token (the form Razor renders in #antiforgery), '' on a page without one. */
    function antiforgeryToken() {
        const input = document.querySelector('#antiforgery input[name=__RequestVerificationToken]');
        return input ? input.value : '';
    }

    /** The headers of a cookie-session request that changes something: the antiforgery token and JSON answers. */
    function writeHeaders() {
        return { 'X-CSRF-TOKEN': antiforgeryToken(), 'Accept': 'application/json' };
    }

    /** fetch(url) with method, the session cookie, the antiforgery header and payload (if any) as JSON. */
    function send(method, url, payload) {
        const init = { method, credentials: 'same-origin', headers: writeHeaders() };
        if (payload !== undefined && payload !== null) {
            init.headers['Content-Type'] = 'application/json';
            init.body = JSON.stringify(payload);
        }
        return fetch(url, init);
    }

    /**
     * What a failed answer says, for the user: a validation problem's field errors (each with its field's name when
     * namedFields), else its detail or title, else the status.
     */
    async function problemText(response, namedFields) {
        const fallback = `Request failed (${response.status}).`;
        try {
            const problem = await response.json();
            const fields = problem.errors
                ? Object.entries(problem.errors).map(([name, messages]) => (namedFields ? `${name}: ` : '') + [].concat(messages).join(' '))
                : [];
            return fields.length > 0 ? fields.join(' ') : (problem.detail || problem.title || fallback);
        } catch (e) {
            return fallback; // not problem+json
        }
    }

    window.dashboardApi = { el, antiforgeryToken, writeHeaders, send, problemText };
})();
