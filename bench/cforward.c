/* Minimal UDP forwarder and load tools for bench/relay.py (Linux; gcc -O2 -o cforward).
 *
 *   cforward fwd  LISTEN_PORT DEST_PORT
 *       The peer the relay is measured against: recvmmsg/sendmmsg in batches of 32. Client
 *       datagrams on LISTEN_PORT go to 127.0.0.1:DEST_PORT from a second socket; replies on
 *       that socket go back to the last client seen (one flow: no table, no parsing).
 *   cforward burst DEST_PORT SINK_PORT FLOWS COUNT ROUNDS SIZE HELLO_HEX[,HELLO_HEX...] PID...
 *       Load generator and sink: FLOWS client sockets each send a HELLO (e.g. a routable
 *       STUN Binding Request; flow f the (f mod n)-th of n) to DEST; then SIGSTOP the forwarder PIDs, queue COUNT datagrams
 *       in their socket buffer, SIGCONT them and let them drain it into the sink, ROUNDS
 *       times. Batches are full, so this is the forwarder's top rate whatever the generator
 *       costs; the sink is read only after each drain (no wakeups billed to the forwarder).
 *       Prints "received cpu_seconds wall_seconds": the forwarders' CPU time from
 *       /proc/PID/task/TID/schedstat (every thread, ns resolution) and the time from SIGCONT
 *       to the last arrival (SIOCGSTAMPNS: the kernel's receive timestamp of the last
 *       datagram read).
 *   cforward echo PORT
 *       Sends every datagram back to where it came from (a framed reply is the same frame).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32
#define BUF 2048

static volatile sig_atomic_t stop_flag = 0;
static void on_signal(int sig) { (void)sig; stop_flag = 1; }

static int udp_socket(int port) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int size = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); exit(1); }
    return fd;
}

static struct sockaddr_in loopback(int port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static double realtime(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static char bufs[BATCH][BUF];
static struct iovec iov[BATCH];
static struct mmsghdr msgs[BATCH];
static struct sockaddr_in names[BATCH];

static int recv_batch(int fd) {
    for (int i = 0; i < BATCH; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = BUF;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &names[i];
        msgs[i].msg_hdr.msg_namelen = sizeof names[i];
    }
    return recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
}

static void send_batch(int fd, int n, struct sockaddr_in *dest) {
    for (int i = 0; i < n; i++) {
        iov[i].iov_len = msgs[i].msg_len;
        if (dest) {
            msgs[i].msg_hdr.msg_name = dest;
            msgs[i].msg_hdr.msg_namelen = sizeof *dest;
        }
    }
    int sent = 0;
    while (sent < n) {
        int r = sendmmsg(fd, msgs + sent, n - sent, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == ENOBUFS) break;
            sent++;
            continue;
        }
        sent += r;
    }
}

static int fwd(int listen_port, int dest_port) {
    int pub = udp_socket(listen_port), priv = udp_socket(0);
    struct sockaddr_in dest = loopback(dest_port), client = {0};
    struct pollfd fds[2] = {{pub, POLLIN, 0}, {priv, POLLIN, 0}};
    printf("ready\n");
    fflush(stdout);
    while (!stop_flag) {
        if (poll(fds, 2, 200) <= 0) continue;
        if (fds[0].revents & POLLIN) {
            int n;
            while ((n = recv_batch(pub)) > 0) {
                client = names[n - 1];
                send_batch(priv, n, &dest);
                if (n < BATCH) break;
            }
        }
        if (fds[1].revents & POLLIN) {
            int n;
            while ((n = recv_batch(priv)) > 0) {
                send_batch(pub, n, &client);
                if (n < BATCH) break;
            }
        }
    }
    return 0;
}

static int echo(int port) {
    int fd = udp_socket(port);
    struct pollfd p = {fd, POLLIN, 0};
    printf("ready\n");
    fflush(stdout);
    while (!stop_flag) {
        if (poll(&p, 1, 200) <= 0) continue;
        int n;
        while ((n = recv_batch(fd)) > 0) {
            send_batch(fd, n, NULL);
            if (n < BATCH) break;
        }
    }
    return 0;
}

static int hexval(char c) {
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* CPU time of every thread of the processes: /proc/PID/schedstat alone is the main
 * thread's (the relay forwards in a thread of its own). */
static double cpu_of(int npids, int *pids) {
    double total = 0;
    for (int i = 0; i < npids; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/task", pids[i]);
        DIR *tasks = opendir(path);
        if (!tasks) continue;
        struct dirent *task;
        while ((task = readdir(tasks)) != NULL) {
            if (task->d_name[0] == '.') continue;
            char stat[300];
            snprintf(stat, sizeof stat, "/proc/%d/task/%s/schedstat", pids[i], task->d_name);
            FILE *f = fopen(stat, "r");
            if (!f) continue;
            unsigned long long ns = 0;
            if (fscanf(f, "%llu", &ns) == 1) total += ns / 1e9;
            fclose(f);
        }
        closedir(tasks);
    }
    return total;
}

static void signal_all(int npids, int *pids, int sig) {
    for (int i = 0; i < npids; i++) kill(pids[i], sig);
}

static int burst(int dest_port, int sink_port, int flows, int count, int rounds, int size,
                 const char *hello_hex, int npids, int *pids) {
    int sink = udp_socket(sink_port);
    int big = 64 << 20;  /* room for a whole burst: the sink is not read while it drains */
    setsockopt(sink, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    struct timespec enable;  /* the first SIOCGSTAMPNS turns arrival timestamps on */
    ioctl(sink, SIOCGSTAMPNS, &enable);
    int *fds = calloc(flows, sizeof *fds);
    struct sockaddr_in dest = loopback(dest_port);
    /* One hex datagram, or several separated by commas: flow f sends the (f mod n)-th (the
       relay binds at most 16 client addresses to one ufrag, so each flow has its own). */
    int nhello = 1;
    for (const char *c = hello_hex; *c; c++) nhello += *c == ',';
    unsigned char (*hello)[1024] = calloc(nhello, sizeof *hello);
    int *hello_len = calloc(nhello, sizeof *hello_len);
    for (int h = 0, i = 0; h < nhello; h++) {
        int n = 0;
        for (; hello_hex[i] && hello_hex[i] != ',' && hello_hex[i + 1]; i += 2)
            if (n < (int)sizeof *hello)
                hello[h][n++] = (unsigned char)(hexval(hello_hex[i]) * 16 + hexval(hello_hex[i + 1]));
        hello_len[h] = n;
        if (hello_hex[i] == ',') i++;
    }
    for (int f = 0; f < flows; f++) {
        fds[f] = udp_socket(0);
        connect(fds[f], (struct sockaddr *)&dest, sizeof dest);
        send(fds[f], hello[f % nhello], hello_len[f % nhello], 0);
    }
    usleep(200000);
    while (recv_batch(sink) > 0) {}

    static char payload[BATCH][BUF];
    static struct iovec siov[BATCH];
    static struct mmsghdr smsgs[BATCH];
    for (int i = 0; i < BATCH; i++) {
        memset(payload[i], 0x80, size);
        payload[i][1] = 0x6f;
        siov[i].iov_base = payload[i];
        siov[i].iov_len = size;
        smsgs[i].msg_hdr.msg_iov = &siov[i];
        smsgs[i].msg_hdr.msg_iovlen = 1;
    }
    long received = 0;
    double cpu = 0, wall = 0;
    for (int r = 0; r < rounds; r++) {
        signal_all(npids, pids, SIGSTOP);
        usleep(20000);
        for (int sent = 0, f = 0; sent < count; f = (f + 1) % flows) {
            int n = count - sent < BATCH ? count - sent : BATCH;
            int k = sendmmsg(fds[f], smsgs, n, 0);
            if (k > 0) sent += k;
        }
        double cpu0 = cpu_of(npids, pids), start = realtime();
        signal_all(npids, pids, SIGCONT);
        /* Nobody waits on the sink while the forwarder drains: a sleeping reader would be
           woken per datagram, and the wakeups would be billed to the forwarder. Wait until
           its CPU time stops moving, then read what arrived and the last arrival time. */
        long got = 0;
        double deadline = now() + 5, last_cpu = -1;
        while (got < count && now() < deadline) {
            usleep(2000);
            double c = cpu_of(npids, pids);
            if (c != last_cpu) { last_cpu = c; continue; }
            int n;
            while ((n = recv_batch(sink)) > 0) got += n;
        }
        struct timespec ts;
        double last = start;
        if (got && ioctl(sink, SIOCGSTAMPNS, &ts) == 0) last = ts.tv_sec + ts.tv_nsec / 1e9;
        cpu += cpu_of(npids, pids) - cpu0;
        wall += last - start;
        received += got;
    }
    printf("%ld %.9f %.9f\n", received, cpu, wall);
    return 0;
}

int main(int argc, char **argv) {
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    if (argc == 4 && !strcmp(argv[1], "fwd")) return fwd(atoi(argv[2]), atoi(argv[3]));
    if (argc == 3 && !strcmp(argv[1], "echo")) return echo(atoi(argv[2]));
    if (argc >= 10 && !strcmp(argv[1], "burst")) {
        int npids = argc - 9, *pids = calloc(npids, sizeof *pids);
        for (int i = 0; i < npids; i++) pids[i] = atoi(argv[9 + i]);
        return burst(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]),
                     atoi(argv[7]), argv[8], npids, pids);
    }
    fprintf(stderr, "usage: cforward fwd LISTEN DEST | echo PORT | burst DEST SINK FLOWS COUNT ROUNDS SIZE HELLO PID...\n");
    return 2;
}
