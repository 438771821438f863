/* relay._fastloop: the relay's forwarding loops for known flows, in C (Linux).
 *
 * A Table mirrors the direct flows of a worker's flow table (relay.forwarder): the client's
 * socket address (the key datagrams from clients are looked up by), its frame header
 * (pywebrtc.framing: the key frames from a backend are looked up by), and the connected
 * socket towards its backend. Python changes it (relay.server: on_route, on_forget); the
 * loops only read it and stamp each entry with the time it last carried a datagram, which
 * expiry asks for (Table.last_seen) before it drops a flow.
 *
 * A Loop owns one socket's receive and send batches. Loop.run() blocks in recvmmsg with the
 * GIL released and forwards, still without the GIL, every datagram of a known flow:
 *
 *   PUBLIC: a client datagram (not STUN, first byte >= 2, RFC 7983) from a known address:
 *           the frame header is written in place in front of it and the frame goes to the
 *           flow's backend link, sendmmsg per link;
 *   LINK:   a frame (0xC4: 7-byte header, 0xC6: 19-byte header) from a backend link whose
 *           header names a known flow: its payload goes to the client from the public socket.
 *
 * Anything else (unknown senders and headers, STUN, truncated datagrams, frames of chained
 * flows) is handed up: run() returns its index in the batch, after sending what came before
 * it, and Python handles it (Loop.take, Loop.sender) and calls run() again, which goes on
 * with the rest of the batch. So datagrams leave in the order they came, and every decision
 * beyond "known flow" stays in relay.forwarder. Once the socket is shut down
 * (relay.iothread.SocketThreads.stop) every receive returns zero-length datagrams, which are
 * handed up too, so Python sees the stop; run() returns -1 when a receive returns nothing
 * (a non-blocking socket), and raises OSError for a bad descriptor or buffer (a bug) and
 * whatever a signal handler raises (in the main thread).
 *
 * A Group runs several Loops in one thread (relay.hotloop's C mode: a worker's public socket
 * and its backend links): poll() over their sockets, then each ready one's batch,
 * non-blocking, with the same hand-up; see "a group of loops in one thread" below.
 *
 * Counters (Loop.counters): datagrams and payload bytes sent, and datagrams dropped because
 * the socket buffer was full, as the pure-Python loops of relay.hotloop count them.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#ifndef __linux__
#error "relay._fastloop needs Linux (recvmmsg/sendmmsg)"
#endif

#include <errno.h>
#include <poll.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32
#define SLOT 4096
#define HEADROOM 32 /* room for a frame header in front of a client datagram */
#define CAPACITY (SLOT - HEADROOM) /* datagrams this long or longer are handed up */
#define NAME_MAX_LEN 28 /* sizeof(struct sockaddr_in6) */
#define HEADER_V4 7
#define HEADER_V6 19

enum { PUBLIC = 0, LINK = 1 };

/* -- the table ------------------------------------------------------------------------ */

typedef struct Entry {
    uint64_t tag; /* which Python flow (its id()) */
    uint8_t key[NAME_MAX_LEN];
    uint8_t keylen;
    uint8_t header[HEADER_V6];
    uint8_t hl;
    uint8_t name[NAME_MAX_LEN]; /* the client's struct sockaddr, to send replies to */
    socklen_t namelen;
    int link_fd;
    double last_seen;
} Entry;

/* Open addressing, linear probing, backward-shift deletion; slots hold Entry pointers. */
typedef struct {
    Entry **slots;
    size_t mask, count;
    int by_header; /* 0: keyed by entry->key, 1: by entry->header */
} Map;

static inline uint64_t hash_bytes(const uint8_t *p, size_t len) {
    uint64_t h = 0x9E3779B97F4A7C15ULL * (len + 1);
    while (len) {
        uint64_t w = 0;
        size_t n = len < 8 ? len : 8;
        memcpy(&w, p, n);
        h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
        h ^= h >> 32;
        p += n;
        len -= n;
    }
    return h;
}

static inline const uint8_t *map_key(const Map *m, const Entry *e, size_t *len) {
    if (m->by_header) {
        *len = e->hl;
        return e->header;
    }
    *len = e->keylen;
    return e->key;
}

static int map_init(Map *m, int by_header) {
    m->slots = calloc(1024, sizeof(Entry *));
    if (!m->slots) return -1;
    m->mask = 1023;
    m->count = 0;
    m->by_header = by_header;
    return 0;
}

static Entry *map_get(const Map *m, const uint8_t *key, size_t len) {
    size_t i = hash_bytes(key, len) & m->mask;
    for (;;) {
        Entry *e = m->slots[i];
        if (!e) return NULL;
        size_t elen;
        const uint8_t *ekey = map_key(m, e, &elen);
        if (elen == len && !memcmp(ekey, key, len)) return e;
        i = (i + 1) & m->mask;
    }
}

static void map_place(Map *m, Entry *e) {
    size_t len;
    const uint8_t *key = map_key(m, e, &len);
    size_t i = hash_bytes(key, len) & m->mask;
    while (m->slots[i]) i = (i + 1) & m->mask;
    m->slots[i] = e;
}

/* Insert an entry whose key is not in the map yet. */
static int map_put(Map *m, Entry *e) {
    if ((m->count + 1) * 2 > m->mask + 1) {
        size_t size = (m->mask + 1) * 2;
        Entry **old = m->slots, **slots = calloc(size, sizeof(Entry *));
        if (!slots) return -1;
        size_t old_size = m->mask + 1;
        m->slots = slots;
        m->mask = size - 1;
        for (size_t i = 0; i < old_size; i++)
            if (old[i]) map_place(m, old[i]);
        free(old);
    }
    map_place(m, e);
    m->count++;
    return 0;
}

static void map_remove(Map *m, const Entry *e) {
    size_t len;
    const uint8_t *key = map_key(m, e, &len);
    size_t i = hash_bytes(key, len) & m->mask;
    while (m->slots[i] != e) {
        if (!m->slots[i]) return;
        i = (i + 1) & m->mask;
    }
    m->slots[i] = NULL;
    m->count--;
    /* Backward shift: move later entries of the probe run into the hole where they may. */
    size_t hole = i;
    for (size_t j = (i + 1) & m->mask; m->slots[j]; j = (j + 1) & m->mask) {
        size_t jlen;
        const uint8_t *jkey = map_key(m, m->slots[j], &jlen);
        size_t home = hash_bytes(jkey, jlen) & m->mask;
        /* Movable if home is not cyclically within (hole, j]. */
        if (((j - home) & m->mask) >= ((j - hole) & m->mask)) {
            m->slots[hole] = m->slots[j];
            m->slots[j] = NULL;
            hole = j;
        }
    }
}

typedef struct {
    PyObject_HEAD
    pthread_mutex_t mutex;
    Map by_key, by_header;
} TableObject;

/* The lookup key of a client's struct sockaddr: family, port and address of an IPv4 one
 * (its first 8 bytes), the whole of anything else (relay.batchio.key_of). */
static inline size_t key_length(const uint8_t *name, size_t namelen) {
    sa_family_t family;
    memcpy(&family, name, sizeof family);
    return family == AF_INET ? 8 : namelen;
}

static void entry_drop(TableObject *t, Entry *e) {
    map_remove(&t->by_key, e);
    if (map_get(&t->by_header, e->header, e->hl) == e) map_remove(&t->by_header, e);
    free(e);
}

static double monotonic(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* time.monotonic()'s clock */
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static PyObject *Table_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    if (!PyArg_ParseTuple(args, ":Table")) return NULL;
    TableObject *self = (TableObject *)type->tp_alloc(type, 0);
    if (!self) return NULL;
    pthread_mutex_init(&self->mutex, NULL);
    if (map_init(&self->by_key, 0) || map_init(&self->by_header, 1)) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    return (PyObject *)self;
}

static void Table_dealloc(TableObject *self) {
    if (self->by_key.slots) {
        for (size_t i = 0; i <= self->by_key.mask; i++) free(self->by_key.slots[i]);
        free(self->by_key.slots);
    }
    free(self->by_header.slots);
    pthread_mutex_destroy(&self->mutex);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int check_header(Py_buffer *header) {
    const uint8_t *h = header->buf;
    if ((header->len == HEADER_V4 && h[0] == 0xC4) || (header->len == HEADER_V6 && h[0] == 0xC6))
        return 0;
    PyErr_SetString(PyExc_ValueError, "not a 0xC4/0xC6 frame header");
    return -1;
}

static PyObject *Table_set(TableObject *self, PyObject *args) {
    unsigned long long tag;
    Py_buffer name, header;
    int link_fd;
    if (!PyArg_ParseTuple(args, "Ky*y*i:set", &tag, &name, &header, &link_fd)) return NULL;
    PyObject *result = NULL;
    if (check_header(&header)) goto done;
    if (name.len < 16 || name.len > NAME_MAX_LEN) {
        PyErr_SetString(PyExc_ValueError, "not a struct sockaddr_in/sockaddr_in6");
        goto done;
    }
    size_t keylen = key_length(name.buf, name.len);
    pthread_mutex_lock(&self->mutex);
    Entry *e = map_get(&self->by_key, name.buf, keylen);
    Entry *other = map_get(&self->by_header, header.buf, header.len);
    if (other && other != e) entry_drop(self, other); /* that client, another way: replaced */
    int failed = 0;
    if (!e) {
        e = calloc(1, sizeof *e);
        if (!e) {
            failed = 1;
        } else {
            memcpy(e->key, name.buf, keylen);
            e->keylen = (uint8_t)keylen;
            memcpy(e->header, header.buf, header.len);
            e->hl = (uint8_t)header.len;
            if (map_put(&self->by_key, e)) {
                free(e);
                failed = 1;
            } else if (map_put(&self->by_header, e)) {
                map_remove(&self->by_key, e);
                free(e);
                failed = 1;
            }
        }
    } else if (e->hl != header.len || memcmp(e->header, header.buf, header.len)) {
        if (map_get(&self->by_header, e->header, e->hl) == e) map_remove(&self->by_header, e);
        memcpy(e->header, header.buf, header.len);
        e->hl = (uint8_t)header.len;
        failed = map_put(&self->by_header, e) != 0;
        if (failed) entry_drop(self, e);
    }
    if (!failed) {
        e->tag = tag;
        memcpy(e->name, name.buf, name.len);
        e->namelen = (socklen_t)name.len;
        e->link_fd = link_fd;
        e->last_seen = monotonic();
    }
    pthread_mutex_unlock(&self->mutex);
    if (failed)
        PyErr_NoMemory();
    else
        result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&name);
    PyBuffer_Release(&header);
    return result;
}

static PyObject *Table_forget(TableObject *self, PyObject *args) {
    unsigned long long tag;
    Py_buffer header;
    if (!PyArg_ParseTuple(args, "Ky*:forget", &tag, &header)) return NULL;
    pthread_mutex_lock(&self->mutex);
    Entry *e = map_get(&self->by_header, header.buf, header.len);
    int found = e && e->tag == tag;
    if (found) entry_drop(self, e);
    pthread_mutex_unlock(&self->mutex);
    PyBuffer_Release(&header);
    return PyBool_FromLong(found);
}

static PyObject *Table_last_seen(TableObject *self, PyObject *args) {
    unsigned long long tag;
    Py_buffer header;
    if (!PyArg_ParseTuple(args, "Ky*:last_seen", &tag, &header)) return NULL;
    double seen = -Py_HUGE_VAL;
    pthread_mutex_lock(&self->mutex);
    Entry *e = map_get(&self->by_header, header.buf, header.len);
    if (e && e->tag == tag) seen = e->last_seen;
    pthread_mutex_unlock(&self->mutex);
    PyBuffer_Release(&header);
    return PyFloat_FromDouble(seen);
}

static Py_ssize_t Table_len(TableObject *self) {
    pthread_mutex_lock(&self->mutex);
    size_t n = self->by_key.count;
    pthread_mutex_unlock(&self->mutex);
    return (Py_ssize_t)n;
}

static PyMethodDef Table_methods[] = {
    {"set", (PyCFunction)Table_set, METH_VARARGS,
     "set(tag, sockaddr, header, link_fd): the flow ``tag`` (its id()) of the client at "
     "``sockaddr`` (raw struct sockaddr) goes to the connected socket ``link_fd``, framed "
     "with ``header``; replaces any entry of that client or that header."},
    {"forget", (PyCFunction)Table_forget, METH_VARARGS,
     "forget(tag, header) -> bool: drop the entry of ``header`` if it is flow ``tag``'s."},
    {"last_seen", (PyCFunction)Table_last_seen, METH_VARARGS,
     "last_seen(tag, header) -> float: when a loop last forwarded a datagram of flow ``tag`` "
     "(time.monotonic()), -inf if it has no entry."},
    {NULL},
};

static PySequenceMethods Table_as_sequence = {.sq_length = (lenfunc)Table_len};

static PyTypeObject TableType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "relay._fastloop.Table",
    .tp_basicsize = sizeof(TableObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The direct flows the C loops forward (see the module docstring).",
    .tp_new = Table_new,
    .tp_dealloc = (destructor)Table_dealloc,
    .tp_methods = Table_methods,
    .tp_as_sequence = &Table_as_sequence,
};

/* -- the loops ------------------------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    TableObject *table;
    int fd, out_fd, kind;
    int n, pos, running;
    int drained; /* non-blocking (in a Group): the batch in hand is this turn's last */
    uint8_t *data; /* BATCH slots of SLOT bytes; datagram i at data + i*SLOT + HEADROOM */
    struct mmsghdr rmsgs[BATCH];
    struct iovec riov[BATCH];
    uint8_t names[BATCH][32];
    struct mmsghdr smsgs[BATCH], grouped[BATCH];
    struct iovec siov[BATCH];
    uint8_t snames[BATCH][NAME_MAX_LEN];
    int sfd[BATCH];
    size_t sbytes[BATCH];
    uint64_t packets, bytes, send_failed; /* written by the loop, read by any thread */
} LoopObject;

static PyObject *Loop_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    PyObject *table;
    int fd, out_fd, kind;
    if (!PyArg_ParseTuple(args, "O!iii:Loop", &TableType, &table, &fd, &out_fd, &kind))
        return NULL;
    if (kind != PUBLIC && kind != LINK) {
        PyErr_SetString(PyExc_ValueError, "kind must be PUBLIC or LINK");
        return NULL;
    }
    LoopObject *self = (LoopObject *)type->tp_alloc(type, 0);
    if (!self) return NULL;
    self->data = calloc(BATCH, SLOT);
    if (!self->data) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    self->table = (TableObject *)Py_NewRef(table);
    self->fd = fd;
    self->out_fd = out_fd;
    self->kind = kind;
    for (int i = 0; i < BATCH; i++) {
        self->riov[i].iov_base = self->data + (size_t)i * SLOT + HEADROOM;
        self->riov[i].iov_len = SLOT - HEADROOM;
        self->rmsgs[i].msg_hdr.msg_iov = &self->riov[i];
        self->rmsgs[i].msg_hdr.msg_iovlen = 1;
        /* Links are connected: the kernel checked the sender, no name to read. */
        self->rmsgs[i].msg_hdr.msg_name = kind == PUBLIC ? self->names[i] : NULL;
        self->smsgs[i].msg_hdr.msg_iov = &self->siov[i];
        self->smsgs[i].msg_hdr.msg_iovlen = 1;
        /* Public datagrams go out on connected links: no name. */
        self->smsgs[i].msg_hdr.msg_name = kind == LINK ? self->snames[i] : NULL;
    }
    return (PyObject *)self;
}

static void Loop_dealloc(LoopObject *self) {
    Py_XDECREF(self->table);
    free(self->data);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static inline void add(uint64_t *counter, uint64_t n) {
    __atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

/* sendmmsg until done or the buffer is full (relay.batchio.Batch.send): a per-destination
 * error (an ICMP report) skips that message as sent. How many count as sent. */
static int send_all(int fd, struct mmsghdr *msgs, int count) {
    int sent = 0;
    while (sent < count) {
        int r = sendmmsg(fd, msgs + sent, count - sent, MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) break;
            sent++;
            continue;
        }
        sent += r;
    }
    return sent;
}

/* Send prepared messages 0..count-1 (one sendmmsg per destination socket) and count them. */
static void flush(LoopObject *self, int count) {
    uint64_t packets = 0, bytes = 0;
    int same = 1;
    for (int j = 1; j < count; j++) same &= self->sfd[j] == self->sfd[0];
    if (same) {
        int sent = send_all(self->sfd[0], self->smsgs, count);
        packets = sent;
        for (int j = 0; j < sent; j++) bytes += self->sbytes[j];
    } else {
        /* Several backends in one batch: regroup by socket, order kept per socket. */
        uint32_t done = 0;
        for (int first = 0; first < count; first++) {
            if (done & (1u << first)) continue;
            int fd = self->sfd[first], k = 0;
            size_t order[BATCH];
            for (int j = first; j < count; j++)
                if (!(done & (1u << j)) && self->sfd[j] == fd) {
                    done |= 1u << j;
                    order[k] = j;
                    self->grouped[k++] = self->smsgs[j];
                }
            int sent = send_all(fd, self->grouped, k);
            packets += sent;
            for (int j = 0; j < sent; j++) bytes += self->sbytes[order[j]];
        }
    }
    add(&self->packets, packets);
    add(&self->bytes, bytes);
    if (packets < (uint64_t)count) add(&self->send_failed, count - packets);
}

/* Prepare datagrams from self->pos on, up to the first one for Python; under the mutex. */
static int prepare(LoopObject *self, double now) {
    TableObject *t = self->table;
    int j = 0;
    for (; self->pos < self->n; self->pos++) {
        int i = self->pos;
        struct msghdr *h = &self->rmsgs[i].msg_hdr;
        size_t length = self->rmsgs[i].msg_len;
        uint8_t *data = self->riov[i].iov_base;
        if ((h->msg_flags & MSG_TRUNC) || length >= CAPACITY) break;
        if (self->kind == PUBLIC) {
            if (length < 1 || data[0] < 2) break; /* STUN (RFC 7983): the forwarder looks */
            Entry *e = map_get(&t->by_key, self->names[i], key_length(self->names[i],
                                                                       h->msg_namelen));
            if (!e) break;
            e->last_seen = now;
            memcpy(data - e->hl, e->header, e->hl);
            self->siov[j].iov_base = data - e->hl;
            self->siov[j].iov_len = length + e->hl;
            self->sfd[j] = e->link_fd;
            self->sbytes[j] = length;
        } else {
            if (length < HEADER_V4) break;
            size_t hl = data[0] == 0xC4 ? HEADER_V4 : data[0] == 0xC6 ? HEADER_V6 : 0;
            if (!hl || length < hl) break;
            Entry *e = map_get(&t->by_header, data, hl);
            if (!e) break;
            e->last_seen = now;
            memcpy(self->snames[j], e->name, e->namelen);
            self->smsgs[j].msg_hdr.msg_namelen = e->namelen;
            self->siov[j].iov_base = data + hl;
            self->siov[j].iov_len = length - hl;
            self->sfd[j] = self->out_fd;
            self->sbytes[j] = length - hl;
        }
        j++;
    }
    return j;
}

/* Forward from the loop's socket until a datagram needs Python (its index, >= 0) or there is
 * nothing to read (-1: a receive came back empty, or would block; non-blocking, also once a
 * batch is done: the group polls again). The GIL is released by the
 * caller; *error is set (EINTR included) for what Python must raise. */
static int loop_step(LoopObject *self, int nonblocking, int *error) {
    for (;;) {
        if (self->pos >= self->n) {
            if (self->drained) {
                self->drained = 0;
                return -1;
            }
            self->n = self->pos = 0;
            if (self->kind == PUBLIC)
                for (int i = 0; i < BATCH; i++)
                    self->rmsgs[i].msg_hdr.msg_namelen = sizeof self->names[i];
            int flags = MSG_WAITFORONE | (nonblocking ? MSG_DONTWAIT : 0);
            int n = recvmmsg(self->fd, self->rmsgs, BATCH, flags, NULL);
            if (n < 0) {
                if (errno == EBADF || errno == EFAULT || errno == EINVAL || errno == ENOTSOCK ||
                    errno == EINTR) {
                    *error = errno;
                    return -1;
                }
                if (errno == EAGAIN || errno == EWOULDBLOCK) return -1;
                /* An ICMP error (ECONNREFUSED...) reported once on a connected socket whose
                 * peer went away: read on. */
                continue;
            }
            if (n == 0) return -1; /* shut down: relay.iothread wants the thread back */
            self->n = n;
            /* In a Group, one batch per turn: back to poll() after it, so that a socket that
             * always has a full batch waiting cannot starve the others. */
            self->drained = nonblocking;
        }
        pthread_mutex_lock(&self->table->mutex);
        int j = prepare(self, monotonic());
        pthread_mutex_unlock(&self->table->mutex);
        if (j) flush(self, j);
        if (self->pos < self->n) return self->pos++; /* Python's; the next step goes on after it */
    }
}

static PyObject *Loop_run(LoopObject *self, PyObject *unused) {
    if (self->running) {
        PyErr_SetString(PyExc_RuntimeError, "Loop.run() is already running (or in a Group)");
        return NULL;
    }
    self->running = 1;
    int result, error;
again:
    error = 0;
    Py_BEGIN_ALLOW_THREADS
    result = loop_step(self, 0, &error);
    Py_END_ALLOW_THREADS
    if (error == EINTR) {
        /* A signal: its Python handler runs now (in the main thread; elsewhere a no-op). */
        if (PyErr_CheckSignals() == 0) goto again;
        self->running = 0;
        return NULL;
    }
    self->running = 0;
    if (error) {
        errno = error;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return PyLong_FromLong(result);
}

static int index_of(LoopObject *self, PyObject *arg) {
    long i = PyLong_AsLong(arg);
    if (i == -1 && PyErr_Occurred()) return -1;
    if (i < 0 || i >= self->n) {
        PyErr_SetString(PyExc_IndexError, "no such datagram in the current batch");
        return -1;
    }
    return (int)i;
}

static PyObject *Loop_take(LoopObject *self, PyObject *arg) {
    int i = index_of(self, arg);
    if (i < 0) return NULL;
    if (self->rmsgs[i].msg_hdr.msg_flags & MSG_TRUNC) Py_RETURN_NONE;
    return PyBytes_FromStringAndSize(self->riov[i].iov_base, self->rmsgs[i].msg_len);
}

static PyObject *Loop_sender(LoopObject *self, PyObject *arg) {
    int i = index_of(self, arg);
    if (i < 0) return NULL;
    if (self->kind != PUBLIC) Py_RETURN_NONE;
    const uint8_t *name = self->names[i];
    size_t namelen = self->rmsgs[i].msg_hdr.msg_namelen;
    if (namelen > sizeof self->names[i]) namelen = sizeof self->names[i];
    if (namelen >= 8 && key_length(name, namelen) == 8) {
        uint64_t key;
        memcpy(&key, name, 8);
        return PyLong_FromUnsignedLongLong(key);
    }
    return PyBytes_FromStringAndSize((const char *)name, namelen);
}

static PyObject *Loop_counters(LoopObject *self, PyObject *unused) {
    return Py_BuildValue("(KKK)", (unsigned long long)__atomic_load_n(&self->packets, __ATOMIC_RELAXED),
                         (unsigned long long)__atomic_load_n(&self->bytes, __ATOMIC_RELAXED),
                         (unsigned long long)__atomic_load_n(&self->send_failed, __ATOMIC_RELAXED));
}

static PyMethodDef Loop_methods[] = {
    {"run", (PyCFunction)Loop_run, METH_NOARGS,
     "run() -> int: forward known flows until a datagram needs Python (its index) or a "
     "receive comes back empty (-1). Blocks with the GIL released."},
    {"take", (PyCFunction)Loop_take, METH_O,
     "take(i) -> bytes | None: datagram ``i`` of the current batch (None: truncated)."},
    {"sender", (PyCFunction)Loop_sender, METH_O,
     "sender(i) -> int | bytes | None: the sender of datagram ``i`` as relay.batchio keys "
     "it (None on a link)."},
    {"counters", (PyCFunction)Loop_counters, METH_NOARGS,
     "counters() -> (datagrams sent, payload bytes sent, dropped for a full buffer)."},
    {NULL},
};

static PyTypeObject LoopType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "relay._fastloop.Loop",
    .tp_basicsize = sizeof(LoopObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Loop(table, fd, out_fd, kind): one socket's forwarding loop (see the module).",
    .tp_new = Loop_new,
    .tp_dealloc = (destructor)Loop_dealloc,
    .tp_methods = Loop_methods,
};

/* -- a group of loops in one thread ------------------------------------------------- */

/* A Group runs several Loops (a worker's public socket and its backend links) in one thread:
 * poll() over their sockets, then each ready one's batch, non-blocking. A ping that crosses
 * the relay both ways then wakes one thread, and the reply often finds it still awake (as a
 * single-threaded forwarder does), instead of waking a thread per socket: every sleep and
 * wake-up is a chance to wait for a core on a loaded host. Loops may be added from other
 * threads while run() blocks (an eventfd wakes its poll). */
typedef struct {
    PyObject_HEAD
    pthread_mutex_t mutex;
    PyObject *members; /* list: keeps the loops alive */
    LoopObject **loops; /* under the mutex; added by add() */
    size_t count, capacity;
    /* run()'s own: its snapshot of the loops and their pollfds (the eventfd last) */
    LoopObject **polled;
    struct pollfd *pfds;
    size_t npolled, seen;
    LoopObject *current; /* the loop whose batch run() is in the middle of */
    int wake_fd, running;
} GroupObject;

static PyObject *Group_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    if (!PyArg_ParseTuple(args, ":Group")) return NULL;
    GroupObject *self = (GroupObject *)type->tp_alloc(type, 0);
    if (!self) return NULL;
    pthread_mutex_init(&self->mutex, NULL);
    self->wake_fd = -1;
    self->members = PyList_New(0);
    if (!self->members) {
        Py_DECREF(self);
        return NULL;
    }
    self->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (self->wake_fd < 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static void Group_dealloc(GroupObject *self) {
    Py_XDECREF(self->members);
    free(self->loops);
    free(self->polled);
    free(self->pfds);
    if (self->wake_fd >= 0) close(self->wake_fd);
    pthread_mutex_destroy(&self->mutex);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Group_add(GroupObject *self, PyObject *arg) {
    if (!PyObject_TypeCheck(arg, &LoopType)) {
        PyErr_SetString(PyExc_TypeError, "Group.add() takes a Loop");
        return NULL;
    }
    LoopObject *loop = (LoopObject *)arg;
    if (loop->running) {
        PyErr_SetString(PyExc_RuntimeError, "that Loop is running (or in a Group already)");
        return NULL;
    }
    if (PyList_Append(self->members, arg) < 0) return NULL;
    pthread_mutex_lock(&self->mutex);
    int failed = 0;
    if (self->count == self->capacity) {
        size_t capacity = self->capacity ? self->capacity * 2 : 8;
        LoopObject **loops = realloc(self->loops, capacity * sizeof *loops);
        if (loops) {
            self->loops = loops;
            self->capacity = capacity;
        } else {
            failed = 1;
        }
    }
    if (!failed) {
        loop->running = 1; /* the group's from now on: Loop.run() refuses */
        self->loops[self->count++] = loop;
    }
    pthread_mutex_unlock(&self->mutex);
    if (failed) return PyErr_NoMemory();
    uint64_t one = 1;
    if (write(self->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        return PyErr_SetFromErrno(PyExc_OSError);
    Py_RETURN_NONE;
}

/* Bring run()'s snapshot up to date with add(); -1 if out of memory. */
static int group_refresh(GroupObject *self) {
    int result = 0;
    pthread_mutex_lock(&self->mutex);
    if (self->seen != self->count) {
        LoopObject **polled = realloc(self->polled, self->count * sizeof *polled);
        struct pollfd *pfds = polled ? realloc(self->pfds, (self->count + 1) * sizeof *pfds)
                                     : NULL;
        if (polled) self->polled = polled;
        if (pfds) self->pfds = pfds;
        if (!polled || !pfds) {
            result = -1;
        } else {
            for (size_t i = 0; i < self->count; i++) {
                self->polled[i] = self->loops[i];
                self->pfds[i] = (struct pollfd){self->loops[i]->fd, POLLIN | POLLRDHUP, 0};
            }
            self->pfds[self->count] = (struct pollfd){self->wake_fd, POLLIN, 0};
            self->npolled = self->seen = self->count;
        }
    }
    pthread_mutex_unlock(&self->mutex);
    return result;
}

/* Until a datagram needs Python: the loop that has it, its index in *index. */
static LoopObject *group_step(GroupObject *self, int *index, int *error) {
    for (;;) {
        if (self->current) {
            LoopObject *loop = self->current;
            int i = loop_step(loop, 1, error);
            if (*error) return NULL;
            if (i >= 0) {
                *index = i;
                return loop;
            }
            self->current = NULL;
        }
        if (group_refresh(self) < 0) {
            *error = ENOMEM;
            return NULL;
        }
        if (poll(self->pfds, self->npolled + 1, -1) < 0) {
            if (errno == EINTR || errno == ENOMEM) {
                *error = errno;
                return NULL;
            }
            continue;
        }
        if (self->pfds[self->npolled].revents) {
            uint64_t count;
            if (read(self->wake_fd, &count, sizeof count) < 0) { /* EAGAIN: nothing to read */ }
        }
        for (size_t k = 0; k < self->npolled; k++) {
            short revents = self->pfds[k].revents;
            if (!revents) continue;
            LoopObject *loop = self->polled[k];
            if (revents & POLLNVAL) {
                *error = EBADF; /* closed under us: a bug */
                return NULL;
            }
            if (revents & POLLRDHUP) {
                /* Shut down (relay.iothread's stop): a non-blocking receive would say EAGAIN
                 * for ever, and poll "readable": hand it up as index -1. */
                *index = -1;
                return loop;
            }
            int i = loop_step(loop, 1, error);
            if (*error) return NULL;
            if (i >= 0) {
                /* The rest of that batch first, next time; the other ready sockets after a
                 * poll that finds them ready still. */
                self->current = loop;
                *index = i;
                return loop;
            }
        }
    }
}

static PyObject *Group_run(GroupObject *self, PyObject *unused) {
    if (self->running) {
        PyErr_SetString(PyExc_RuntimeError, "Group.run() is already running");
        return NULL;
    }
    self->running = 1;
    LoopObject *loop;
    int index = -1, error;
again:
    error = 0;
    Py_BEGIN_ALLOW_THREADS
    loop = group_step(self, &index, &error);
    Py_END_ALLOW_THREADS
    if (error == EINTR) {
        if (PyErr_CheckSignals() == 0) goto again;
        self->running = 0;
        return NULL;
    }
    self->running = 0;
    if (error) {
        errno = error;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return Py_BuildValue("(Oi)", (PyObject *)loop, index);
}

static Py_ssize_t Group_length(GroupObject *self) {
    pthread_mutex_lock(&self->mutex);
    size_t n = self->count;
    pthread_mutex_unlock(&self->mutex);
    return (Py_ssize_t)n;
}

static PyMethodDef Group_methods[] = {
    {"add", (PyCFunction)Group_add, METH_O,
     "add(loop): run ``loop`` in this group from now on (from any thread)."},
    {"run", (PyCFunction)Group_run, METH_NOARGS,
     "run() -> (loop, int): forward known flows on every loop's socket until a datagram "
     "needs Python: that loop and the datagram's index (Loop.take, Loop.sender), or -1 if "
     "that loop's socket was shut down for reading. Blocks with the GIL released."},
    {NULL},
};

static PySequenceMethods Group_as_sequence = {.sq_length = (lenfunc)Group_length};

static PyTypeObject GroupType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "relay._fastloop.Group",
    .tp_basicsize = sizeof(GroupObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Group(): Loops run together in one thread (see relay/_fastloop.c).",
    .tp_new = Group_new,
    .tp_dealloc = (destructor)Group_dealloc,
    .tp_methods = Group_methods,
    .tp_as_sequence = &Group_as_sequence,
};

/* -- module --------------------------------------------------------------------------- */

static PyObject *fast_sendto(PyObject *module, PyObject *args) {
    int fd;
    Py_buffer data, name;
    if (!PyArg_ParseTuple(args, "iy*y*:sendto", &fd, &data, &name)) return NULL;
    ssize_t r = sendto(fd, data.buf, data.len, MSG_DONTWAIT, (struct sockaddr *)name.buf,
                       (socklen_t)name.len);
    int full = r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS ||
                         errno == EINTR);
    PyBuffer_Release(&data);
    PyBuffer_Release(&name);
    /* Any other error is an ICMP report on this send (a client gone): counts as sent. */
    return PyBool_FromLong(!full);
}

static PyMethodDef module_methods[] = {
    {"sendto", fast_sendto, METH_VARARGS,
     "sendto(fd, data, sockaddr) -> bool: one datagram to a raw struct sockaddr, never "
     "blocking; False if the socket buffer was full."},
    {NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "relay._fastloop",
    .m_doc = "The relay's forwarding loops for known flows, in C (see relay/_fastloop.c).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__fastloop(void) {
    if (PyType_Ready(&TableType) < 0 || PyType_Ready(&LoopType) < 0 ||
        PyType_Ready(&GroupType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    if (PyModule_AddObjectRef(m, "Table", (PyObject *)&TableType) < 0 ||
        PyModule_AddObjectRef(m, "Loop", (PyObject *)&LoopType) < 0 ||
        PyModule_AddObjectRef(m, "Group", (PyObject *)&GroupType) < 0 ||
        PyModule_AddIntConstant(m, "PUBLIC", PUBLIC) < 0 ||
        PyModule_AddIntConstant(m, "LINK", LINK) < 0 ||
        PyModule_AddIntConstant(m, "BATCH", BATCH) < 0 ||
        PyModule_AddIntConstant(m, "CAPACITY", CAPACITY) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
