// Live chat, reactions and moderation beside the player (watch page) and on the dashboard's channel page.
// Everything a viewer wrote goes into the page through textContent or text nodes, never as markup.
(function () {
    'use strict';
    const root = document.getElementById('chat');
    if (!root) return;
    const $ = (id) => document.getElementById(id);
    const slug = root.dataset.slug;
    const mode = root.dataset.mode;
    const list = $('chat-messages');
    const stateLine = $('chat-state');
    const token = new URLSearchParams(location.search).get('token');
    const chat = { received: [], shown: [], reactions: {}, reactionMessages: 0, batches: 0, joined: null, settings: { mode: 'open', slowModeSeconds: 0, links: 'text' } };
    window.__chat = chat;

    const linkPattern = /\bhttps?:\/\/[^\s<>"']+/gi;
    function fillText(el, text, clickable) {
        if (!clickable) { el.textContent = text; return; }
        let last = 0;
        for (const m of text.matchAll(linkPattern)) {
            el.append(document.createTextNode(text.slice(last, m.index)));
            const a = document.createElement('a');
            a.href = m[0];
            a.textContent = m[0];
            a.rel = 'nofollow noopener noreferrer ugc';
            a.target = '_blank';
            el.append(a);
            last = m.index + m[0].length;
        }
        el.append(document.createTextNode(text.slice(last)));
    }

    function time(ms) {
        const d = new Date(ms);
        return String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0');
    }

    function button(label, cls, onClick) {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'btn btn-xs ' + cls;
        b.textContent = label;
        b.addEventListener('click', onClick);
        return b;
    }

    function messageItem(m, held) {
        const li = document.createElement('li');
        li.className = 'chat-msg' + (m.moderator ? ' chat-msg-mod' : '') + (chat.joined && m.author === chat.joined.author ? ' chat-msg-own' : '');
        li.dataset.id = m.id;
        li.dataset.author = m.author;
        const when = document.createElement('span');
        when.className = 'chat-time';
        when.textContent = time(held ? m.sentAt : m.at);
        const name = document.createElement('span');
        name.className = 'chat-name';
        name.textContent = m.name;
        const text = document.createElement('span');
        text.className = 'chat-text';
        fillText(text, m.text, chat.settings.links === 'clickable');
        li.append(when, name, text);
        if (chat.joined && chat.joined.moderator && mode !== 'replay') {
            const tools = document.createElement('span');
            tools.className = 'chat-tools';
            if (held) tools.append(button('Approve', 'chat-approve', () => act('Approve', m.id)));
            tools.append(button('Delete', 'chat-delete', () => act('Delete', m.id)));
            tools.append(button('Time out', 'chat-timeout', () => ban(m.id, 10)));
            tools.append(button('Ban', 'chat-ban', () => ban(m.id, null)));
            li.append(tools);
        }
        return li;
    }

    function addMessage(m) {
        if (list.querySelector(`li[data-id="${CSS.escape(m.id)}"]`)) return;
        chat.received.push(m);
        const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 24;
        list.append(messageItem(m, false));
        while (list.children.length > 300) list.firstElementChild.remove();
        if (atBottom) list.scrollTop = list.scrollHeight;
    }

    function removeMessage(id) {
        for (const el of document.querySelectorAll(`#chat li[data-id="${CSS.escape(id)}"]`)) el.remove();
    }

    function hubError(e) {
        const text = (e && e.message) || String(e);
        const i = text.indexOf('HubException: ');
        return i >= 0 ? text.slice(i + 'HubException: '.length) : text;
    }

    function showError(text) {
        const el = $('chat-error');
        if (el) el.textContent = text;
        const status = $('chat-settings-status');
        if (status && chat.joined && chat.joined.moderator) status.textContent = text;
    }

    // --- replay of a recording ---------------------------------------------------------------------
    if (mode === 'replay') {
        const url = `${location.pathname}?handler=ChatReplay&recording=${encodeURIComponent(root.dataset.recording)}` +
            (token ? `&token=${encodeURIComponent(token)}` : '');
        fetch(url, { cache: 'no-store' }).then((r) => r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))).then((replay) => {
            chat.replay = replay;
            stateLine.textContent = `${replay.messages.length} messages`;
            let next = 0;
            let lastNow = -Infinity;
            // Where the recording is, in wall-clock time: hls.js's program date-time of the playing position, or the
            // broadcast's start plus the playing position when the playlist carries none.
            let clock = null;
            const playingAt = () => {
                const w = window.__watch;
                if (!w) return null;
                const d = w.hls && w.hls.playingDate;
                if (d) { clock = 'program-date-time'; return d.getTime(); }
                clock = 'broadcast-start';
                return w.video.currentTime > 0 ? replay.start + w.video.currentTime * 1000 : null;
            };
            setInterval(() => {
                const now = playingAt();
                if (now === null) return;
                if (now < lastNow - 1500) { list.replaceChildren(); next = 0; } // sought back: start over
                lastNow = now;
                while (next < replay.messages.length && replay.messages[next].at <= now) {
                    const m = replay.messages[next++];
                    chat.shown.push({ id: m.id, at: m.at, playingAt: now, clock });
                    list.append(messageItem(m, false));
                    list.scrollTop = list.scrollHeight;
                }
            }, 100);
        }).catch((e) => { stateLine.textContent = 'chat replay unavailable (' + e.message + ')'; });
        return;
    }

    // --- live chat over SignalR ----------------------------------------------------------------------
    const nameInput = $('chat-name');
    const textInput = $('chat-text');
    const form = $('chat-form');
    const storage = { get: (k) => { try { return localStorage.getItem(k); } catch { return null; } }, set: (k, v) => { try { localStorage.setItem(k, v); } catch { /* private mode */ } } };
    nameInput.value = storage.get('broadcast.chat.name') || '';
    nameInput.addEventListener('change', () => storage.set('broadcast.chat.name', nameInput.value.trim()));

    const connection = new signalR.HubConnectionBuilder().withUrl(root.dataset.hub).withAutomaticReconnect().build();
    chat.connection = connection;
    const events = {
        message: addMessage,
        removed: (e) => removeMessage(e.id),
        held: (m) => { const held = $('chat-held'); if (held && !held.querySelector(`li[data-id="${CSS.escape(m.id)}"]`)) held.append(messageItem(m, true)); },
        resolved: (e) => { const li = $('chat-held') && $('chat-held').querySelector(`li[data-id="${CSS.escape(e.id)}"]`); if (li) li.remove(); },
        settings: applySettings,
        bans: renderBans,
        reactions: floatReactions,
        question: upsertQuestion,
        questionState: (e) => { const q = chat.questions.get(e.id); if (q) { q.state = e.state; renderQuestions(); } },
        questionVotes: (e) => {
            e.ids.forEach((id, i) => { const q = chat.questions.get(id); if (q) q.votes = Math.max(q.votes, e.votes[i]); });
            renderQuestions();
        },
    };
    for (const [name, handle] of Object.entries(events)) connection.on(name, handle);
    // A busy chat's events arrive together, oldest first (ChatGroupDelivery): each is handled as if sent alone.
    connection.on('batch', (items) => { chat.batches++; for (const item of items) { const handle = Object.hasOwn(events, item.method) ? events[item.method] : null; if (handle) handle(item.payload); } });
    connection.on('sync', () => {}); // the server's check that this page still reads (ChatReaderWatch)

    // --- questions (Q&A) ---------------------------------------------------------------------------
    chat.questions = new Map();
    const stateRank = { answering: 0, held: 1, open: 2, answered: 3 };
    function upsertQuestion(q) {
        const known = chat.questions.get(q.id);
        chat.questions.set(q.id, known ? Object.assign(known, q, { votes: Math.max(known.votes, q.votes) }) : q);
        renderQuestions();
    }
    function renderQuestions() {
        const ul = $('chat-questions');
        if (!ul) return;
        const moderator = chat.joined && chat.joined.moderator;
        const list = [...chat.questions.values()].filter((q) => q.state !== 'dismissed' && (moderator || q.state !== 'held'))
            .sort((a, b) => (stateRank[a.state] - stateRank[b.state]) || (b.votes - a.votes) || (a.at - b.at));
        ul.replaceChildren();
        for (const q of list) {
            const li = document.createElement('li');
            li.className = 'chat-question q-' + q.state;
            li.dataset.id = q.id;
            const votes = document.createElement('span');
            votes.className = 'q-votes';
            votes.textContent = String(q.votes);
            const up = button('▲', 'q-upvote', async () => {
                try { await connection.invoke('Upvote', q.id); } catch (e) { showError(hubError(e)); }
            });
            up.disabled = q.state === 'held' || q.state === 'answered' || chat.voted.has(q.id);
            up.addEventListener('click', () => chat.voted.add(q.id));
            const name = document.createElement('span');
            name.className = 'chat-name';
            name.textContent = q.name;
            const text = document.createElement('span');
            text.className = 'chat-text';
            text.textContent = q.text;
            li.append(up, votes, name, text);
            if (q.state === 'answering') { const tag = document.createElement('span'); tag.className = 'badge badge-live'; tag.textContent = 'Answering'; li.append(tag); }
            if (q.state === 'answered') { const tag = document.createElement('span'); tag.className = 'badge badge-muted'; tag.textContent = 'Answered'; li.append(tag); }
            if (moderator) {
                const tools = document.createElement('span');
                tools.className = 'chat-tools';
                if (q.state === 'held') tools.append(button('Approve', 'q-approve', () => moderateQuestion(q.id, 'approve')));
                if (q.state === 'open' || q.state === 'answered') tools.append(button('Answer now', 'q-answer', () => moderateQuestion(q.id, 'answering')));
                if (q.state === 'answering') tools.append(button('Done', 'q-done', () => moderateQuestion(q.id, 'answered')));
                tools.append(button('Dismiss', 'q-dismiss', () => moderateQuestion(q.id, 'dismiss')));
                li.append(tools);
            }
            ul.append(li);
        }
        const count = $('chat-questions-count');
        if (count) count.textContent = list.length ? `(${list.length})` : '';
    }
    async function moderateQuestion(id, action) {
        try { await connection.invoke('ModerateQuestion', id, action); } catch (e) { showError(hubError(e)); }
    }
    chat.voted = new Set();

    function applySettings(s) {
        chat.settings = s;
        root.dataset.chatMode = s.mode;
        stateLine.textContent = s.mode === 'off' ? 'chat is off' : s.mode === 'hold' ? 'messages are reviewed before they appear'
            : s.slowModeSeconds > 0 ? `slow mode: one message every ${s.slowModeSeconds} s` : 'live';
        if (form) form.hidden = s.mode === 'off' && !(chat.joined && chat.joined.moderator);
        if (chat.joined && chat.joined.moderator) {
            $('chat-mode').value = s.mode;
            $('chat-slow').value = s.slowModeSeconds;
            $('chat-links').value = s.links;
        }
    }

    function renderBans(bans) {
        const ul = $('chat-bans');
        if (!ul) return;
        ul.replaceChildren();
        for (const b of bans) {
            const li = document.createElement('li');
            li.className = 'chat-ban-row';
            li.dataset.id = b.id;
            const who = document.createElement('span');
            who.className = 'chat-name';
            who.textContent = b.name;
            const what = document.createElement('span');
            what.className = 'chat-text';
            what.textContent = (b.expiresAt ? `timed out until ${time(b.expiresAt)}` : 'banned') + (b.byAddress ? ' (and address)' : '') +
                ` by ${b.createdBy}: ${b.reason}`;
            li.append(who, what, button('Lift', 'chat-unban', () => act('Unban', b.id)));
            ul.append(li);
        }
    }

    async function act(method, id) {
        try { await connection.invoke(method, id); } catch (e) { showError(hubError(e)); }
    }

    async function ban(id, minutes) {
        const reason = $('chat-ban-reason') ? $('chat-ban-reason').value : '';
        const byAddress = $('chat-ban-address') ? $('chat-ban-address').checked : true;
        try { await connection.invoke('Ban', id, reason, minutes, byAddress); } catch (e) { showError(hubError(e)); }
    }

    function floatReactions(r) {
        chat.reactionMessages = (chat.reactionMessages || 0) + 1;
        const layer = $('reactions-layer');
        r.emoji.forEach((emoji, i) => {
            const n = r.counts[i];
            if (!n) return;
            chat.reactions[emoji] = (chat.reactions[emoji] || 0) + n;
            if (!layer) return;
            for (let k = 0; k < Math.min(n, 6); k++) {
                const s = document.createElement('span');
                s.className = 'reaction-float';
                s.textContent = emoji;
                s.style.left = (8 + Math.random() * 84).toFixed(1) + '%';
                s.style.animationDelay = (k * 60) + 'ms';
                s.addEventListener('animationend', () => s.remove());
                layer.append(s);
            }
        });
    }

    async function join() {
        stateLine.textContent = 'connecting…';
        const joined = await connection.invoke('Join', slug, storage.get('broadcast.chat.viewer'), token);
        chat.joined = joined;
        storage.set('broadcast.chat.viewer', joined.viewerId);
        applySettings(joined.settings);
        list.replaceChildren();
        joined.messages.forEach(addMessage);
        const bar = $('chat-reactions');
        if (bar && !bar.children.length) {
            for (const emoji of joined.reactions) {
                const b = button(emoji, 'chat-react', () => connection.send('React', emoji).catch(() => {}));
                b.title = 'React';
                bar.append(b);
            }
        }
        chat.questions.clear();
        (joined.questions || []).forEach((q) => chat.questions.set(q.id, q));
        renderQuestions();
        if (joined.moderator) {
            $('chat-moderation').hidden = false;
            const held = $('chat-held');
            held.replaceChildren();
            (joined.held || []).forEach((m) => held.append(messageItem(m, true)));
            renderBans(joined.bans || []);
            $('chat-words').value = (joined.blockedWords || []).join('\n');
        }
        chat.ready = true;
    }

    // A message (Send) and a question (Ask) go the same way: the name is remembered, the box cleared on success.
    async function post(method, heldNotice) {
        const name = nameInput.value.trim();
        storage.set('broadcast.chat.name', name);
        const text = textInput.value;
        try {
            const sent = await connection.invoke(method, name, text);
            if (textInput.value === text) textInput.value = ''; // keep what was typed meanwhile
            showError(sent.held ? heldNotice : '');
        } catch (e) {
            showError(hubError(e));
        }
    }

    if (form) {
        form.addEventListener('submit', (ev) => {
            ev.preventDefault();
            post('Send', 'Your message waits for a moderator.');
        });
        $('chat-ask').addEventListener('click', () => post('Ask', 'Your question waits for a moderator.'));
        textInput.addEventListener('keydown', (ev) => {
            if (ev.key === 'Enter' && !ev.shiftKey) { ev.preventDefault(); form.requestSubmit(); }
        });
    }

    const save = $('chat-save-settings');
    if (save) {
        save.addEventListener('click', async () => {
            try {
                const words = $('chat-words').value.split('\n').map((w) => w.trim()).filter((w) => w);
                await connection.invoke('SaveSettings', $('chat-mode').value, parseInt($('chat-slow').value || '0', 10), $('chat-links').value, words);
                $('chat-settings-status').textContent = 'Saved.';
            } catch (e) {
                $('chat-settings-status').textContent = hubError(e);
            }
        });
    }

    connection.onreconnecting(() => { stateLine.textContent = 'reconnecting…'; chat.ready = false; });
    connection.onreconnected(() => join().catch((e) => { stateLine.textContent = hubError(e); }));
    (async function start() {
        for (let attempt = 0; ; attempt++) {
            try {
                await connection.start();
                await join();
                return;
            } catch (e) {
                stateLine.textContent = hubError(e);
                if (connection.state === signalR.HubConnectionState.Connected) return; // joined was refused: nothing to retry
                await new Promise((r) => setTimeout(r, Math.min(30000, 1000 * 2 ** attempt)));
            }
        }
    })();
})();
