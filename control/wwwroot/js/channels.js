// Channel list: LIVE badges, viewers and bitrate follow the hub's "list" pushes.
(function () {
    'use strict';
    const table = document.querySelector('[data-live-list]');
    if (!table || !window.signalR) return;
    const { fmt, hub } = window.broadcast;
    const connection = hub();

    connection.on('list', (rows) => {
        for (const row of rows) {
            const tr = table.querySelector(`tr[data-channel-id="${row.id}"]`);
            if (!tr) continue;
            const status = tr.querySelector('[data-field=status]');
            if (row.online) {
                status.innerHTML = '<span class="badge badge-live">LIVE</span>';
            } else if (!status.querySelector('.badge-muted')) {
                status.innerHTML = '<span class="badge badge-off">Offline</span>';
            }
            tr.querySelector('[data-field=viewers]').textContent = row.viewers == null ? '–' : String(row.viewers);
            tr.querySelector('[data-field=bitrate]').textContent = fmt.bitrate(row.bitrate);
        }
    });
    const join = () => connection.invoke('WatchList');
    connection.onreconnected(join);
    connection.start().then(join).catch((e) => console.warn('live updates unavailable', e));
})();
